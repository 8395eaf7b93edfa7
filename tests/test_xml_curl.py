"""mod_xml_curl endpoint: FreeSWITCH fetches directory users and inbound routes from CallCenterDB.

Also checks that the shipped freeswitch_conf/ XML is well-formed and wired to this endpoint.
"""

import base64
import logging
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import override_settings
from lxml import etree

from agents.models import Agent
from icm.models import Extension, InboundRoute, Queue, Site
from ivr.models import Flow

URL = "/freeswitch/xml_curl/"
CONF_DIR = Path(settings.BASE_DIR) / "freeswitch_conf"


def basic(user: str = "freeswitch", secret: str = "test-xml-curl-secret") -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def fetch(client, fields, *, auth=None, remote="127.0.0.1", raw: bytes | None = None):
    body = raw if raw is not None else urlencode(fields).encode()
    return client.generic(
        "POST",
        URL,
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic() if auth is None else auth,
        REMOTE_ADDR=remote,
    )


def sip_auth_fields(user: str, domain: str = "hq.ipbx.local") -> dict[str, str]:
    """The fields FreeSWITCH sends when a phone REGISTERs (sofia_reg_parse_auth)."""
    return {
        "hostname": "fs1",
        "section": "directory",
        "tag_name": "domain",
        "key_name": "name",
        "key_value": domain,
        "Event-Name": "REQUEST_PARAMS",
        "Core-UUID": "3f2c2f4e-0000-4000-8000-000000000001",
        "FreeSWITCH-Hostname": "fs1",
        "FreeSWITCH-Switchname": "fs1",
        "Event-Calling-File": "sofia_reg.c",
        "action": "sip_auth",
        "sip_profile": "internal",
        "sip_auth_username": user,
        "sip_auth_realm": domain,
        "sip_auth_method": "REGISTER",
        "key": "id",
        "user": user,
        "domain": domain,
        "ip": "10.0.0.20",
    }


def dialplan_fields(destination: str, context: str = "public") -> dict[str, str]:
    """The fields FreeSWITCH sends when an inbound call reaches the XML dialplan."""
    return {
        "hostname": "fs1",
        "section": "dialplan",
        "tag_name": "",
        "key_name": "",
        "key_value": "",
        "Event-Name": "REQUEST_PARAMS",
        "Channel-State": "CS_ROUTING",
        "Channel-Name": "sofia/external/5551234@carrier.example",
        "Unique-ID": "0b8ee0c2-1111-4000-8000-000000000001",
        "Call-Direction": "inbound",
        "Caller-Caller-ID-Number": "5551234",
        "Caller-Destination-Number": destination,
        "Caller-Context": context,
        "Hunt-Context": context,
        "Hunt-Destination-Number": destination,
        "variable_sip_from_user": "5551234",
    }


@pytest.fixture
def directory_data(db):
    site = Site.objects.create(code="hq", name="HQ", sip_domain="hq.ipbx.local")
    ext = Extension.objects.create(
        site=site,
        number="1001",
        password="sip-pass-1001",
        display_name="Alice Desk",
        caller_id_number="1001",
        variables={"toll_allow": "local,domestic", "record_calls": True},
    )
    Extension.objects.create(site=site, number="1099", password="x", enabled=False)
    Agent.objects.create(login_id="a1001", name="Alice", extension=ext, phone_bar_password="!")
    return site


@pytest.fixture
def routes(directory_data):
    site = directory_data
    flow = Flow.objects.create(name="main-menu")
    queue = Queue.objects.create(site=site, name="sales", display_name="Sales")
    by_flow = InboundRoute.objects.create(site=site, name="Main", dnis="8000", flow=flow)
    by_queue = InboundRoute.objects.create(site=site, name="Sales", dnis="8001", queue=queue)
    InboundRoute.objects.create(site=site, name="Off", dnis="8002", queue=queue, enabled=False)
    return {"flow": by_flow, "queue": by_queue}


def parse(response) -> etree._Element:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    root = etree.fromstring(response.content)
    assert root.tag == "document"
    assert root.get("type") == "freeswitch/xml"
    return root


def assert_not_found(response) -> None:
    root = parse(response)
    sections = root.findall("section")
    assert [s.get("name") for s in sections] == ["result"]
    assert sections[0].find("result").get("status") == "not found"


def variables_of(user: etree._Element) -> dict[str, str]:
    return {v.get("name"): v.get("value") for v in user.findall("variables/variable")}


# --- directory -------------------------------------------------------------------------------


def test_directory_returns_known_user_with_password_and_variables(client, directory_data):
    root = parse(fetch(client, sip_auth_fields("1001")))

    domain = root.find("section[@name='directory']/domain")
    assert domain.get("name") == "hq.ipbx.local"
    domain_params = {p.get("name"): p.get("value") for p in domain.findall("params/param")}
    assert "sofia_contact" in domain_params["dial-string"]

    users = domain.findall("user")
    assert [u.get("id") for u in users] == ["1001"]
    params = {p.get("name"): p.get("value") for p in users[0].findall("params/param")}
    assert params["password"] == "sip-pass-1001"

    variables = variables_of(users[0])
    assert variables["user_context"] == "default"
    assert variables["effective_caller_id_name"] == "Alice Desk"
    assert variables["effective_caller_id_number"] == "1001"
    assert variables["toll_allow"] == "local,domestic"
    assert variables["record_calls"] == "true"
    assert variables["ipbx_agent_id"] == "a1001"
    assert variables["ipbx_site"] == "hq"
    # FreeSWITCH keeps the entry until icm flushes it: an agent offer needs no HTTP fetch
    assert users[0].get("cacheable") == "true"


@pytest.mark.parametrize(("setting", "attribute"), [(0, None), (60_000, "60000")])
def test_directory_user_caching_follows_the_setting(
    client, directory_data, settings, setting, attribute
):
    settings.XML_CURL_USER_CACHE_MS = setting
    root = parse(fetch(client, sip_auth_fields("1001")))
    assert root.find("section[@name='directory']/domain/user").get("cacheable") == attribute


def test_directory_user_call_lookup_for_extension_without_agent(client, directory_data):
    Extension.objects.create(site=directory_data, number="1002", password="p2")
    fields = sip_auth_fields("1002") | {"action": "user_call"}
    user = parse(fetch(client, fields)).find(".//user")
    assert user.get("id") == "1002"
    variables = variables_of(user)
    assert "ipbx_agent_id" not in variables
    assert variables["effective_caller_id_name"] == "1002"


@pytest.mark.parametrize(
    ("user", "domain"),
    [
        ("4242", "hq.ipbx.local"),  # unknown number
        ("1001", "other.example"),  # known number, other domain
        ("1099", "hq.ipbx.local"),  # disabled extension
        ("", "hq.ipbx.local"),  # domain-only lookup (e.g. purpose=gateways)
    ],
)
def test_directory_unknown_user_gets_not_found(client, directory_data, user, domain):
    assert_not_found(fetch(client, sip_auth_fields(user, domain)))


def test_dialplan_fetch_with_every_channel_variable_is_served(client, routes):
    """FreeSWITCH posts all channel variables: far more fields than Django's form default."""
    fields = dialplan_fields("8001") | {f"variable_v{i}": "x" * 20 for i in range(1500)}
    actions = _actions(parse(fetch(client, fields)))
    assert ("set", "ipbx_queue=sales") in actions


def test_sections_not_served_get_not_found(client, directory_data):
    assert_not_found(fetch(client, {"section": "configuration", "key_value": "sofia.conf"}))


# --- dialplan --------------------------------------------------------------------------------


def _actions(root: etree._Element) -> list[tuple[str, str]]:
    return [(a.get("application"), a.get("data", "")) for a in root.iter("action")]


@override_settings(ICM_OUTBOUND_HOST="10.1.2.3", ICM_OUTBOUND_PORT=9084)
def test_dialplan_hands_routed_flow_dnis_to_icm(client, routes):
    root = parse(fetch(client, dialplan_fields("8000")))
    context = root.find("section[@name='dialplan']/context")
    assert context.get("name") == "public"
    condition = context.find("extension/condition")
    assert condition.get("field") == "destination_number"
    assert condition.get("expression") == "^8000$"

    actions = _actions(root)
    assert ("set", f"ipbx_route_id={routes['flow'].pk}") in actions
    assert ("set", "ipbx_flow=main-menu") in actions
    assert not any(data.startswith("ipbx_queue=") for _, data in actions)
    # The socket follows the variables and nothing answers before icm owns the call (or,
    # after the last try at icm's socket, to apologise)
    first = next(i for i, (app, _) in enumerate(actions) if app != "set")
    assert actions[first] == ("socket", "10.1.2.3:9084 async full")
    last = max(i for i, (app, _) in enumerate(actions) if app == "socket")
    assert "answer" not in [app for app, _ in actions[:last]]


def test_dialplan_hands_routed_queue_dnis_to_icm(client, routes):
    actions = _actions(parse(fetch(client, dialplan_fields("8001"))))
    assert ("set", f"ipbx_route_id={routes['queue'].pk}") in actions
    assert ("set", "ipbx_queue=sales") in actions
    expected = f"{settings.ICM_OUTBOUND_HOST}:{settings.ICM_OUTBOUND_PORT} async full"
    assert next(a for a in actions if a[0] != "set") == ("socket", expected)


def test_dialplan_keeps_callers_through_an_icm_crash_as_the_static_dialplan_does(client, routes):
    """Issue 21: the mod_xml_curl dialplan tries icm's socket again and apologises at the end,
    action for action as freeswitch_conf's public ipbx_to_icm extension."""
    fetched = _actions(parse(fetch(client, dialplan_fields("8001"))))
    fetched = [(app, data or "") for app, data in fetched if app != "set"]
    static = etree.parse(CONF_DIR / "dialplan" / "public.xml")
    ext = static.find(".//extension[@name='ipbx_to_icm']/condition")
    shipped = [(a.get("application"), a.get("data") or "") for a in ext.findall("action")]
    shipped = [a for a in shipped if a[0] != "set"]
    assert [app for app, _ in fetched] == [app for app, _ in shipped]
    assert [d for app, d in fetched if app != "socket"] == [
        d for app, d in shipped if app != "socket"
    ]
    assert fetched.count(next(a for a in fetched if a[0] == "socket")) == 21


def test_dialplan_prefers_the_lowest_priority_number(client, routes):
    site = routes["flow"].site
    queue = routes["queue"].queue
    first = InboundRoute.objects.create(site=site, name="VIP", dnis="8000", queue=queue, priority=1)
    actions = _actions(parse(fetch(client, dialplan_fields("8000"))))
    assert ("set", f"ipbx_route_id={first.pk}") in actions


@pytest.mark.parametrize(
    ("destination", "context"),
    [("9999", "public"), ("8002", "public"), ("8000", "default")],
    ids=["unrouted", "disabled-route", "not-public-context"],
)
def test_dialplan_without_route_gets_not_found(client, routes, destination, context):
    assert_not_found(fetch(client, dialplan_fields(destination, context)))


# --- protection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "auth",
    ["", basic(secret="wrong"), basic(user="admin"), "Basic !!!notbase64", "Bearer abc"],
    ids=["missing", "wrong-secret", "wrong-user", "garbage", "other-scheme"],
)
def test_bad_credentials_get_401(client, directory_data, auth, caplog):
    with caplog.at_level(logging.WARNING, logger="icm.xml_curl"):
        response = fetch(client, sip_auth_fields("1001"), auth=auth)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert b"sip-pass-1001" not in response.content
    assert "bad or missing credentials" in caplog.text


@override_settings(XML_CURL_SECRET="")
def test_no_configured_secret_refuses_everyone(client, directory_data):
    response = fetch(client, sip_auth_fields("1001"), auth=basic(secret=""))
    assert response.status_code == 401


def test_disallowed_address_gets_403(client, directory_data, caplog):
    with caplog.at_level(logging.WARNING, logger="icm.xml_curl"):
        response = fetch(client, sip_auth_fields("1001"), remote="192.0.2.50")
    assert response.status_code == 403
    assert b"sip-pass-1001" not in response.content
    assert "192.0.2.50" in caplog.text


@override_settings(XML_CURL_ALLOWED_ADDRESSES=["10.0.0.0/24", "2001:db8::/32", "not-an-ip"])
@pytest.mark.parametrize(
    ("remote", "status"),
    [
        ("10.0.0.7", 200),
        ("10.0.1.7", 403),
        ("2001:db8::5", 200),
        ("::ffff:10.0.0.9", 200),
        ("127.0.0.1", 403),
    ],
)
def test_allowed_addresses_accept_cidrs(client, directory_data, remote, status):
    assert fetch(client, sip_auth_fields("1001"), remote=remote).status_code == status


@pytest.mark.parametrize(
    ("fields", "raw", "message"),
    [
        ({"user": "1001", "domain": "hq.ipbx.local"}, None, b"missing 'section'"),
        ({"section": "voicemail"}, None, b"unknown section"),
        (None, b"section=directory&user=%FF%FE", b"not valid UTF-8"),
        (None, b"section=directory&user=\xff\xfe", b"not valid UTF-8"),
    ],
    ids=["missing-section", "unknown-section", "bad-percent-encoding", "bad-raw-bytes"],
)
def test_malformed_requests_get_400(client, directory_data, fields, raw, message, caplog):
    with caplog.at_level(logging.WARNING, logger="icm.xml_curl"):
        response = fetch(client, fields or {}, raw=raw)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert message in response.content
    assert "bad request" in caplog.text


def test_malformed_multipart_gets_400(client, directory_data):
    response = client.generic(
        "POST",
        URL,
        b"--x\r\nnot a part",
        content_type="multipart/form-data",  # no boundary
        HTTP_AUTHORIZATION=basic(),
    )
    assert response.status_code == 400


def test_get_is_not_allowed(client, directory_data):
    response = client.get(URL, {"section": "directory"}, HTTP_AUTHORIZATION=basic())
    assert response.status_code == 405


# --- freeswitch_conf/ ------------------------------------------------------------------------


def _conf_files() -> list[Path]:
    return sorted(CONF_DIR.rglob("*.xml"))


def _load(relative: str) -> etree._Element:
    return etree.parse(str(CONF_DIR / relative)).getroot()


def test_conf_files_exist():
    names = {p.relative_to(CONF_DIR).as_posix() for p in _conf_files()}
    assert {
        "freeswitch.xml",
        "vars.xml",
        "autoload_configs/event_socket.conf.xml",
        "autoload_configs/acl.conf.xml",
        "autoload_configs/xml_curl.conf.xml",
        "autoload_configs/modules.conf.xml",
        "autoload_configs/local_stream.conf.xml",
        "sip_profiles/internal.xml",
        "sip_profiles/external.xml",
        "dialplan/public.xml",
        "dialplan/default.xml",
    } <= names


@pytest.mark.parametrize("path", _conf_files(), ids=lambda p: p.relative_to(CONF_DIR).as_posix())
def test_every_conf_file_parses(path):
    etree.parse(str(path))
    assert "ClueCon" not in path.read_text()


def _params(element: etree._Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in element.iter("param")}


def test_event_socket_is_protected_by_acl_and_vars_password():
    params = _params(_load("autoload_configs/event_socket.conf.xml"))
    assert params["listen-ip"] == "127.0.0.1"
    assert params["listen-port"] == "8021"
    assert params["password"] == "$${ipbx_esl_password}"
    assert params["apply-inbound-acl"] == "ipbx_esl"

    lists = _load("autoload_configs/acl.conf.xml").findall(".//list")
    esl = [node for node in lists if node.get("name") == "ipbx_esl"]
    assert len(esl) == 1
    assert esl[0].get("default") == "deny"
    cidrs = [node.get("cidr") for node in esl[0].findall("node") if node.get("type") == "allow"]
    assert "127.0.0.0/8" in cidrs
    assert any("ipbx_icm" in (c or "") for c in cidrs)


def _vars() -> dict[str, str]:
    """The `set` pre-processing directives of vars.xml."""
    values = {}
    for directive in _load("vars.xml").iter("X-PRE-PROCESS"):
        if directive.get("cmd") == "set":
            name, _, value = directive.get("data").partition("=")
            values[name] = value
    return values


def test_vars_define_every_ipbx_variable_the_conf_uses_with_placeholders():
    defined = _vars()
    used = set()
    for path in _conf_files():
        text = path.read_text()
        start = 0
        while (index := text.find("$${ipbx_", start)) != -1:
            end = text.index("}", index)
            used.add(text[index + 3 : end])
            start = end
    assert used, "the configuration uses no ipbx_* variable"
    assert used <= set(defined), used - set(defined)
    assert "CHANGE_ME" in defined["ipbx_esl_password"]
    assert "CHANGE_ME" in defined["ipbx_xml_curl_password"]


def test_xml_curl_binding_points_at_this_endpoint():
    root = _load("autoload_configs/xml_curl.conf.xml")
    bindings = root.findall(".//binding")
    assert len(bindings) == 1
    url = bindings[0].find("param[@name='gateway-url']")
    assert url.get("value") == "$${ipbx_xml_curl_url}"
    # the directory only: every inbound call goes to icm through dialplan/public.xml, which
    # routes it itself (a dialplan fetch per arrival only slowed calls down)
    assert set(url.get("bindings").split("|")) == {"directory"}
    params = _params(bindings[0])
    assert params["gateway-credentials"] == "$${ipbx_xml_curl_user}:$${ipbx_xml_curl_password}"
    assert params["auth-scheme"] == "basic"
    assert 0 < int(params["timeout"]) <= 30
    assert _vars()["ipbx_xml_curl_url"].endswith(URL)


def test_public_dialplan_sends_calls_to_icm():
    actions = [
        (a.get("application"), a.get("data")) for a in _load("dialplan/public.xml").iter("action")
    ]
    assert ("socket", "$${ipbx_icm_outbound} async full") in actions


def test_modules_load_what_the_project_needs():
    modules = {m.get("module") for m in _load("autoload_configs/modules.conf.xml").iter("load")}
    assert {
        "mod_event_socket",
        "mod_sofia",
        "mod_xml_curl",
        "mod_dptools",
        "mod_commands",
        "mod_loopback",
        "mod_local_stream",
        "mod_sndfile",
        "mod_tone_stream",
        "mod_spandsp",
        "mod_flite",
        "mod_say_en",
        "mod_conference",
        "mod_dialplan_xml",
    } <= modules


def test_music_on_hold_stream_matches_queue_default():
    directories = _load("autoload_configs/local_stream.conf.xml").findall("directory")
    assert "moh" in {d.get("name") for d in directories}
    assert Queue._meta.get_field("music_on_hold").default == "local_stream://moh"
