"""Loadable modules: which modules the simulated switch has loaded and what each provides.

Owns the module registry behind ``module_exists`` and the "Invalid Application" rule
(switch_core_session_execute_application_get_flags): an application whose module is not
loaded, or that no FreeSWITCH module provides, hangs the channel up with
DESTINATION_OUT_OF_ORDER before any CHANNEL_EXECUTE; an api of a module that is not
loaded answers ``-ERR <name> Command not found!``. The application and api names per module
are FreeSWITCH's own (``SWITCH_ADD_APP`` / ``SWITCH_ADD_API`` in each module's source at
the captured build); mod_amd is the third-party module (its only application is ``amd``).
"""

from __future__ import annotations

# What a FreeSWITCH built from its own tree loads with the vanilla modules.conf.xml, plus
# the modules the project's freeswitch_conf loads (xml_curl, flite, tts_commandline) and
# mod_avmd (in-tree beep detector). mod_amd is not part of FreeSWITCH's tree.
DEFAULT_MODULES = frozenset(
    """mod_console mod_logfile mod_enum mod_cdr_csv mod_event_socket mod_sofia mod_loopback
    mod_rtc mod_verto mod_signalwire mod_commands mod_conference mod_db mod_dptools mod_expr
    mod_fifo mod_hash mod_voicemail mod_esf mod_fsv mod_valet_parking mod_httapi
    mod_dialplan_xml mod_dialplan_asterisk mod_spandsp mod_g723_1 mod_g729 mod_amr mod_b64
    mod_opus mod_av mod_sndfile mod_native_file mod_png mod_local_stream mod_tone_stream
    mod_lua mod_say_en mod_xml_curl mod_flite mod_tts_commandline mod_avmd""".split()
)

# module -> (applications, apis), space separated
_TABLE: dict[str, tuple[str, str]] = {
    "mod_amd": (
        "amd",
        "",
    ),
    "mod_av": (
        "",
        "av",
    ),
    "mod_avmd": (
        "avmd avmd_start avmd_stop",
        "avmd",
    ),
    "mod_callcenter": (
        "callcenter callcenter_track",
        "callcenter_break callcenter_config",
    ),
    "mod_cdr_csv": (
        "",
        "cdr_csv",
    ),
    "mod_commands": (
        "",
        (
            "acl alias banner bg_spawn bg_system bgapi break coalesce complete cond "
            "console_complete console_complete_xml create_uuid db_cache domain_data "
            "domain_exists echo escape eval event_channel_broadcast expand file_exists "
            "find_user_xml fsctl getcputime getenv gethost global_getvar global_setvar "
            "group_call help host_lookup hostname hupall in_group interface_allowlist_dump "
            "interface_ip is_lan_addr json limit_hash_usage limit_interval_reset "
            "limit_reset limit_status limit_usage list_users load log md5 memory "
            "module_exists msleep nat_map originate pause pool_stats quote_shell_arg "
            "reg_url regex reload reloadacl reloadcert reloadxml replace say_string "
            "sched_api sched_broadcast sched_del sched_hangup sched_transfer show shutdown "
            "spawn spawn_stream sql_escape status strftime_tz stun switchname system "
            "time_test timer_test tolower tone_detect toupper unload unsched_api uptime "
            "url_decode url_encode user_data user_exists uuid_answer uuid_audio uuid_break "
            "uuid_bridge uuid_broadcast uuid_buglist uuid_capture_text uuid_chat "
            "uuid_codec_debug uuid_codec_param uuid_debug_media uuid_deflect uuid_displace "
            "uuid_display uuid_drop_dtmf uuid_dual_transfer uuid_dump uuid_early_ok "
            "uuid_exists uuid_fileman uuid_flush_dtmf uuid_getvar uuid_hold "
            "uuid_jitterbuffer uuid_kill uuid_limit uuid_limit_release uuid_loglevel "
            "uuid_media uuid_media_3p uuid_media_params uuid_media_reneg "
            "uuid_outgoing_answer uuid_park uuid_pause uuid_phone_event uuid_pre_answer "
            "uuid_preprocess uuid_record uuid_recovery_refresh uuid_recv_dtmf uuid_redirect "
            "uuid_ring_ready uuid_send_dtmf uuid_send_info uuid_send_message uuid_send_text "
            "uuid_session_heartbeat uuid_set_media_stats uuid_setvar uuid_setvar_multi "
            "uuid_simplify uuid_transfer uuid_video_bandwidth uuid_video_bitrate "
            "uuid_video_refresh uuid_xfer_zombie uuid_zombie_exec version xml_flush_cache "
            "xml_locate xml_wrap "
        ),
    ),
    "mod_conference": (
        "conference conference_set_auto_outcall",
        "conference",
    ),
    "mod_db": (
        "db group",
        "db group",
    ),
    "mod_dialplan_xml": ("", ""),
    "mod_dptools": (
        (
            "acknowledge_call answer att_xfer bgsystem bind_digit_action bind_meta_app "
            "blind_transfer_ack block_dtmf break bridge bridge_export broadcast capture "
            "capture_text check_acl clear_digit_action clear_speech_cache cng_plc "
            "debug_media deduplicate_dtmf deflect delay_echo detect_audio detect_silence "
            "detect_speech digit_action_set_realm displace_session early_hangup eavesdrop "
            "echo enable_heartbeat enable_keepalive endless_playback eval event "
            "execute_extension export fax_detect filter_codecs flush_dtmf gentones hangup "
            "hold info intercept ivr jitterbuffer limit limit_execute limit_hash "
            "limit_hash_execute log loop_playback media_reset mkdir multiset multiunset "
            "mutex native_eavesdrop novideo page park park_state phrase pickup "
            "play_and_detect_speech play_and_get_digits playback pre_answer preprocess "
            "presence privacy push queue_dtmf read record record_session "
            "record_session_mask record_session_pause record_session_resume "
            "record_session_unmask recovery_refresh redirect remove_bugs rename respond "
            "reuse_caller_profile ring_ready say sched_broadcast sched_cancel sched_hangup "
            "sched_heartbeat sched_transfer send_display send_dtmf send_info "
            "session_loglevel set set_audio_level set_global set_media_stats set_mute "
            "set_name set_profile_var set_user set_zombie_exec sleep soft_hold sound_test "
            "speak start_dtmf start_dtmf_generate stop stop_displace_session stop_dtmf "
            "stop_dtmf_generate stop_record_session stop_tone_detect "
            "stop_video_write_overlay strftime system three_way tone_detect transfer "
            "transfer_vars unbind_meta_app unblock_dtmf unhold unset unshift vad_test "
            "verbose_events video_decode video_refresh video_write_overlay wait_for_answer "
            "wait_for_silence wait_for_video_ready "
        ),
        "chat page presence strepoch strftime strmicroepoch",
    ),
    "mod_enum": (
        "enum",
        "enum enum_auto",
    ),
    "mod_esf": (
        "esf_page_group",
        "",
    ),
    "mod_event_socket": (
        "socket",
        "event_sink",
    ),
    "mod_expr": (
        "",
        "expr",
    ),
    "mod_fifo": (
        "fifo fifo_track_call",
        "fifo fifo_add_outbound fifo_check_bridge fifo_member",
    ),
    "mod_flite": ("", ""),
    "mod_fsv": (
        "decode_video play_fsv play_yuv record_fsv",
        "",
    ),
    "mod_hash": (
        "hash",
        "hash hash_dump hash_remote",
    ),
    "mod_httapi": (
        "httapi",
        "httapi",
    ),
    "mod_local_stream": (
        "",
        "local_stream",
    ),
    "mod_loopback": (
        "unloop",
        "",
    ),
    "mod_lua": (
        "lua",
        "lua luarun",
    ),
    "mod_signalwire": (
        "",
        "signalwire",
    ),
    "mod_sms": ("", ""),
    "mod_sofia": (
        "sofia_sla sofia_stir_shaken_vs",
        (
            "rtp_test sofia sofia_contact sofia_count_reg sofia_dig sofia_gateway_data "
            "sofia_presence_data sofia_username_of "
        ),
    ),
    "mod_spandsp": (
        (
            "rxfax spandsp_detect_tdd spandsp_inject_tdd spandsp_send_tdd "
            "spandsp_start_dtmf spandsp_start_fax_detect spandsp_start_tone_detect "
            "spandsp_stop_detect_tdd spandsp_stop_dtmf spandsp_stop_fax_detect "
            "spandsp_stop_inject_tdd spandsp_stop_tone_detect stopfax t38_gateway txfax "
        ),
        (
            "spandsp_start_tone_detect spandsp_stop_tone_detect start_tdd_detect "
            "stop_tdd_detect uuid_send_tdd "
        ),
    ),
    "mod_tts_commandline": ("", ""),
    "mod_valet_parking": (
        "valet_park",
        "valet_info",
    ),
    "mod_verto": (
        "",
        "verto verto_contact",
    ),
    "mod_voicemail": (
        "voicemail",
        (
            "vm_boxcount vm_delete vm_fsdb_auth_login vm_fsdb_msg_count vm_fsdb_msg_delete "
            "vm_fsdb_msg_email vm_fsdb_msg_forward vm_fsdb_msg_get vm_fsdb_msg_list "
            "vm_fsdb_msg_purge vm_fsdb_msg_save vm_fsdb_msg_undelete "
            "vm_fsdb_pref_greeting_get vm_fsdb_pref_greeting_set vm_fsdb_pref_password_set "
            "vm_fsdb_pref_recname_set vm_inject vm_list vm_prefs vm_read voicemail "
            "voicemail_inject "
        ),
    ),
    "mod_xml_curl": (
        "",
        "xml_curl",
    ),
}

APP_MODULE: dict[str, str] = {app: mod for mod, (apps, _) in _TABLE.items() for app in apps.split()}
API_MODULE: dict[str, str] = {api: mod for mod, (_, apis) in _TABLE.items() for api in apis.split()}


class Modules:
    """The set of loaded modules (``--with-module`` / ``--without-module`` change it)."""

    def __init__(self, add: list[str] | None = None, remove: list[str] | None = None) -> None:
        self.loaded = set(DEFAULT_MODULES) | set(add or ())
        self.loaded -= set(remove or ())

    def exists(self, name: str) -> bool:
        """switch_loadable_module_exists: is this module loaded?"""
        return name.strip() in self.loaded

    def app_loaded(self, app: str) -> bool:
        """Does a loaded module provide application ``app``?"""
        mod = APP_MODULE.get(app)
        return mod is not None and mod in self.loaded

    def api_missing(self, name: str) -> bool:
        """True for an api of a known module that is not loaded."""
        mod = API_MODULE.get(name)
        return mod is not None and mod not in self.loaded
