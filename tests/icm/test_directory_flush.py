"""The switch caches directory users (`cacheable`), so an agent offer needs no xml_curl fetch;
saving an extension makes icm flush the switch's entry at once (a changed password, caller
ID or a disabled extension never waits for a cache to expire)."""

from __future__ import annotations

import pytest

from icm.daemon.freeswitch.render import UnsafeArgument, command_to_api
from icm.domain.commands import FlushDirectoryUser
from icm.models import Extension, Site, Switch
from tests.fixtures.waiting import wait_until


def test_the_flush_is_one_xml_flush_cache_line():
    line = command_to_api(FlushDirectoryUser("1101", "hq.ipbx.local"))
    assert line == "xml_flush_cache id 1101 hq.ipbx.local"


@pytest.mark.parametrize("user", ["1101\napi system id", "11 01", "", "1101;x"])
def test_a_flush_refuses_what_is_not_one_plain_word(user):
    with pytest.raises(UnsafeArgument):
        command_to_api(FlushDirectoryUser(user, "hq.ipbx.local"))


def test_saving_an_extension_flushes_the_switch_s_cached_entry(platform_factory):
    site = Site.objects.create(code="dir", name="Directory", sip_domain="dir.ipbx.local")
    platform = platform_factory()
    Switch.objects.filter(name=platform.switch).update(site=site)
    extension = Extension.objects.create(site=site, number="1401", password="first")
    platform.icm.wait_log("directory entry 1401@dir.ipbx.local flushed (+OK cleared")
    extension.password = "second"
    extension.save()
    wait_until(
        lambda: platform.icm.log().count("directory entry 1401@dir.ipbx.local") == 2,
        what="a second flush after the change",
    )
