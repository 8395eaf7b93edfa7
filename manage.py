#!/usr/bin/env python
"""Django's command-line utility for IPBX administrative tasks."""

import os
import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "icm":
        # icm is a gevent process: patch before anything imports socket or threading.
        from gevent import monkey

        monkey.patch_all()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipbx_project.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
