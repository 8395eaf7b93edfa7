"""freeswitch_conf/ against a stock FreeSWITCH (issue 17, defects 6 and 8): every module it
loads is built by a stock build (or is one of the documented opt-ins), no deprecated sofia
parameter, relative prompts and music on hold resolve to the shipped sounds/, recordings go
to the one shared directory, and the demo's switch row follows FREESWITCH_ESL_*."""

from __future__ import annotations

import re
import wave
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from lxml import etree

ROOT = Path(settings.BASE_DIR)
CONF_DIR = ROOT / "freeswitch_conf"
SOUNDS = ROOT / "sounds"
DOCS = ROOT / "docs" / "freeswitch.md"

# build/modules.conf.in of signalwire/freeswitch (v1.10.12, v1.11 and master agree; v1.10
# adds codecs/mod_h26x): the modules a stock `make` builds.
STOCK_BUILD = set(
    "mod_av mod_commands mod_conference mod_db mod_dptools mod_enum mod_esf mod_expr "
    "mod_fifo mod_fsv mod_hash mod_httapi mod_signalwire mod_sms mod_spandsp mod_test "
    "mod_valet_parking mod_voicemail mod_amr mod_b64 mod_g723_1 mod_g729 mod_h26x mod_opus "
    "mod_pgsql mod_dialplan_asterisk mod_dialplan_xml mod_loopback mod_rtc mod_skinny "
    "mod_sofia mod_verto mod_cdr_csv mod_cdr_sqlite mod_event_socket mod_local_stream "
    "mod_native_file mod_png mod_sndfile mod_tone_stream mod_lua mod_console mod_logfile "
    "mod_syslog mod_say_en mod_xml_cdr mod_xml_rpc mod_xml_scgi".split()
)
# In the tree but commented out in modules.conf.in: IPBX needs these, so the deployment
# docs tell how to build them. Anything else outside STOCK_BUILD is a CRIT at start.
OPT_IN = {"mod_xml_curl", "mod_flite", "mod_tts_commandline", "mod_avmd"}
NOT_IN_TREE = {"mod_amd"}  # third-party: "Invalid Application amd" on a stock switch
# sofia.c warns "… deprecated use media_timeout / media_hold_timeout variable"
DEPRECATED_SOFIA = {"rtp-timeout-sec", "rtp-hold-timeout-sec"}


def _load(relative: str) -> etree._Element:
    return etree.parse(str(CONF_DIR / relative)).getroot()


def _vars() -> dict[str, str]:
    values = {}
    for directive in _load("vars.xml").iter("X-PRE-PROCESS"):
        if directive.get("cmd") == "set":
            name, _, value = directive.get("data").partition("=")
            values[name] = value
    return values


def _under_sounds_dir(value: str) -> Path:
    """The shipped directory a `$${ipbx_sounds_dir}/…` value names (the switch's copy of
    sounds/ is installed as ipbx_sounds_dir)."""
    match = re.fullmatch(r"\$\$\{ipbx_sounds_dir\}(/.*)?", value)
    assert match, f"{value!r} is not under $${{ipbx_sounds_dir}}"
    return SOUNDS / (match.group(1) or "/").lstrip("/")


def _loaded_modules() -> list[str]:
    return [m.get("module") for m in _load("autoload_configs/modules.conf.xml").iter("load")]


def test_every_loaded_module_is_built_by_a_stock_build_or_a_documented_opt_in():
    loaded = _loaded_modules()
    assert "mod_event_socket" in loaded and "mod_sofia" in loaded
    unknown = set(loaded) - STOCK_BUILD - OPT_IN
    assert not unknown, f"not built by a stock FreeSWITCH (CRIT at start): {sorted(unknown)}"
    assert not set(loaded) & NOT_IN_TREE
    assert "mod_say_es" not in loaded


def test_the_opt_in_modules_are_named_in_the_deployment_docs():
    docs = DOCS.read_text()
    for module in sorted(set(_loaded_modules()) & OPT_IN):
        assert module in docs, f"docs/freeswitch.md does not say to build {module}"


def test_no_sip_profile_uses_a_deprecated_sofia_parameter():
    profiles = sorted((CONF_DIR / "sip_profiles").glob("*.xml"))
    assert profiles
    for path in profiles:
        names = {p.get("name") for p in etree.parse(str(path)).iter("param")}
        assert not names & DEPRECATED_SOFIA, path.name


def test_media_timeouts_replace_the_deprecated_rtp_timeouts():
    values = _vars()
    assert int(values["media_timeout"]) == 300_000  # milliseconds, was rtp-timeout-sec 300
    assert int(values["media_hold_timeout"]) == 1_800_000


# Variables FreeSWITCH itself defines at start (switch_core.c) — anything else a `$${…}` or
# `${…}` in the configuration names must be set in vars.xml, or it expands to nothing (seen
# on a real switch: `ringback=${us-ring}` gave no ringback).
CORE_VARIABLES = {
    "base_dir",
    "recordings_dir",
    "sounds_dir",
    "conf_dir",
    "log_dir",
    "run_dir",
    "db_dir",
    "mod_dir",
    "htdocs_dir",
    "script_dir",
    "temp_dir",
    "grammar_dir",
    "fonts_dir",
    "images_dir",
    "certs_dir",
    "storage_dir",
    "cache_dir",
    "data_dir",
    "localstate_dir",
    "core_uuid",
    "zrtp_enabled",
    "nat_public_addr",
    "nat_private_addr",
    "nat_type",
    "hostname",
    "local_ip_v4",
    "local_mask_v4",
    "local_ip_v6",
    "switch_serial",
    "local_ip_v4_b",
}
# channel variables the dialplan reads at run time (set by the call, not by vars.xml)
CHANNEL_VARIABLES = {
    "destination_number",
    "caller_id_number",
    "caller_id_name",
    "dialed_user",
    "dialed_domain",
    "sip_from_user",
    "domain_name",
    "strftime",
    "target_domain",
    "effective_caller_id_number",
    "effective_caller_id_name",
    "toll_allow",
    "user_context",
    "sofia_contact",
    "outbound_caller_id_number",
    "outbound_caller_id_name",
    "ipbx_dnis",
    "sip_auth_username",
    "sip_req_user",
    "uuid",
    "ani",
    "dnis",
    "originate_disposition",
    "voice",
    "file",
    "text",  # mod_tts_commandline's own substitutions
}


def test_every_variable_the_configuration_uses_is_defined():
    vars_xml = (CONF_DIR / "vars.xml").read_text()
    defined = set(re.findall(r'cmd="set" data="([A-Za-z0-9_-]+)=', vars_xml))
    for path in CONF_DIR.rglob("*.xml"):  # … and the dialplan's own `set` / `export`
        defined |= set(
            re.findall(r'application="(?:set|export)" data="([A-Za-z0-9_-]+)=', path.read_text())
        )
    undefined: dict[str, str] = {}
    for path in CONF_DIR.rglob("*.xml"):
        text = re.sub(r"<!--.*?-->", "", path.read_text(), flags=re.S)
        for name in re.findall(r"\$\$?\{([A-Za-z0-9_-]+)[}(]", text):
            if name not in defined | CORE_VARIABLES | CHANNEL_VARIABLES:
                undefined.setdefault(name, str(path.relative_to(CONF_DIR)))
    assert not undefined, f"variables used but never set: {undefined}"


def test_relative_prompts_resolve_to_the_shipped_sounds_directory():
    values = _vars()
    assert values["sound_prefix"] == "$${ipbx_sounds_dir}"
    directory = _under_sounds_dir(values["sound_prefix"])
    assert directory.resolve() == Path(settings.IVR_SOUNDS_DIR).resolve()
    assert (directory / "ivr" / "welcome.wav").is_file()


def test_music_on_hold_stream_has_shipped_8k_files():
    values = _vars()
    streams = _load("autoload_configs/local_stream.conf.xml").findall("directory")
    moh = [s for s in streams if s.get("name") == "moh"]
    assert len(moh) == 1 and moh[0].get("path") == "$${ipbx_moh_dir}"
    rate = {p.get("name"): p.get("value") for p in moh[0].iter("param")}["rate"]
    files = sorted(_under_sounds_dir(values["ipbx_moh_dir"]).glob("*.wav"))
    assert files, "no music: FreeSWITCH would create no moh stream"
    for path in files:
        with wave.open(str(path)) as music:
            assert (music.getframerate(), music.getnchannels()) == (int(rate), 1)


def test_the_switch_records_where_the_catalogue_reads():
    sofia = etree.parse(str(CONF_DIR / "sip_profiles" / "internal.xml"))
    record_path = [p.get("value") for p in sofia.iter("param") if p.get("name") == "record-path"]
    assert record_path == ["$${ipbx_recordings_dir}"]
    assert Path(_vars()["ipbx_recordings_dir"]).is_absolute()
    # one setting: the conf and the docs tie the switch's variable to IPBX_RECORDINGS_DIR
    assert "IPBX_RECORDINGS_DIR" in (CONF_DIR / "vars.xml").read_text()
    assert re.search(r"ipbx_recordings_dir.*IPBX_RECORDINGS_DIR", DOCS.read_text())
    assert Path(settings.IPBX_RECORDINGS_DIR).is_absolute()


@pytest.mark.django_db(transaction=True)
def test_load_demo_writes_the_esl_address_icm_uses():
    from django.core.management import call_command

    from icm.models import Switch

    with override_settings(FREESWITCH_ESL_HOST="10.9.8.7", FREESWITCH_ESL_PORT=8123):
        call_command("load_demo", verbosity=0)
        switch = Switch.objects.get(name="fs1")
        assert (switch.esl_host, switch.esl_port) == ("10.9.8.7", 8123)
    with override_settings(FREESWITCH_ESL_HOST="127.0.0.1", FREESWITCH_ESL_PORT=8021):
        call_command("load_demo", verbosity=0)  # a later run follows the settings again
        switch.refresh_from_db()
        assert (switch.esl_host, switch.esl_port) == ("127.0.0.1", 8021)
