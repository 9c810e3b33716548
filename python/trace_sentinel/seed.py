"""Benign signals for priming baselines: deterministic, realistic system-log lines.

A cold sentinel has unstable variance estimates and alerts too eagerly until it has
seen enough normal traffic; :meth:`Sentinel.prime` with :func:`benign_events` gives it
that traffic up front. The corpus — (source, template) pairs from common Windows and
Unix services and the values filled into them — is the reference package's (MIT,
trace-sentinel 0.2.0), drawn with Python's ``random.Random`` in the same order, so a
seed yields exactly the reference's events.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta, timezone
from typing import Callable, Dict, Iterator, List, Tuple

from .events import Event

_TEMPLATES: List[Tuple[str, str]] = [
    ("Service Control Manager", "The {wsvc} service entered the running state."),
    ("Service Control Manager", "The {wsvc} service entered the stopped state."),
    ("Service Control Manager", "The {wsvc} service was successfully sent a start control."),
    ("Microsoft-Windows-Kernel-General", "The system time has changed to {ts}."),
    ("Microsoft-Windows-Kernel-Power", "The system is entering connected standby."),
    ("Microsoft-Windows-Kernel-Boot", "The boot type was {sm}."),
    ("Microsoft-Windows-Time-Service", "The time service is synchronizing with source {host}."),
    ("Microsoft-Windows-WindowsUpdateClient", "Installation Successful: installed update {kb}."),
    ("Microsoft-Windows-WindowsUpdateClient", "Download started for update {kb}."),
    ("Microsoft-Windows-Security-SPP", "Successfully scheduled Software Protection service for re-start."),
    ("Microsoft-Windows-Security-SPP", "Offline downlevel migration succeeded."),
    ("Microsoft-Windows-Dhcp-Client", "DHCP lease obtained for interface; IP {ip}."),
    ("Microsoft-Windows-DNS-Client", "Name resolution for {host} completed successfully."),
    ("Microsoft-Windows-Windows Defender", "Antimalware scan finished. No threats detected."),
    ("Microsoft-Windows-Windows Defender", "Signature version updated successfully."),
    ("BITS", "The transfer job completed successfully; transferred {n} bytes."),
    ("Microsoft-Windows-GroupPolicy", "Group Policy successfully refreshed for the computer."),
    ("User Profile Service", "Received user logon notification for user {user}."),
    ("Microsoft-Windows-Winlogon", "User {user} logged on successfully."),
    ("Microsoft-Windows-Servicing", "Package {kb} was successfully configured."),
    ("Microsoft-Windows-Kernel-Processor-Power", "Processor power management updated."),
    ("Microsoft-Windows-DriverFrameworks-UserMode", "Device {dev} started successfully."),
    ("EventLog", "The Event log service was started."),
    ("Microsoft-Windows-WER-SystemErrorReporting", "No application faults reported this interval."),
    ("systemd", "Started {lsvc}."),
    ("systemd", "Stopped {lsvc}."),
    ("systemd", "Reached target Multi-User System."),
    ("systemd", "Starting {lsvc}..."),
    ("sshd", "Accepted publickey for {user} from {ip} port {port} ssh2"),
    ("sshd", "Connection closed by authenticating user {user} {ip} port {port}"),
    ("sshd", "pam_unix(sshd:session): session opened for user {user}"),
    ("CRON", "({user}) CMD (run-parts /etc/cron.hourly)"),
    ("CRON", "({user}) CMD (test -x /usr/sbin/anacron)"),
    ("nginx", '{ip} - - "GET {path2} HTTP/1.1" 200 {n}'),
    ("nginx", '{ip} - - "POST /api/v1/{ep} HTTP/1.1" 201 {n}'),
    ("nginx", '{ip} - - "GET {path2} HTTP/1.1" 304 0'),
    ("postgres", "checkpoint complete: wrote {n} buffers"),
    ("postgres", 'automatic vacuum of table "{tbl}": index scans: {sm}'),
    ("postgres", "connection authorized: user={user} database={tbl}"),
    ("dockerd", "Container {cid} started"),
    ("dockerd", "Container {cid} stopped"),
    ("kernel", "EXT4-fs ({dev}): mounted filesystem with ordered data mode."),
    ("kernel", "{dev}: link up, 1000 Mbps, full duplex"),
    ("NetworkManager", "device ({dev}): link connected"),
    ("systemd-logind", "New session of user {user}."),
    ("auditd", "USER_LOGIN pid={pid} uid={sm} acct={user} res=success"),
    ("chronyd", "System clock synchronized to source {host}"),
]

_WIN_SERVICES = [
    "Windows Update", "Background Intelligent Transfer Service", "DNS Client", "DHCP Client",
    "Print Spooler", "Task Scheduler", "Windows Time", "Cryptographic Services", "Server",
    "Workstation", "Network Location Awareness", "Windows Management Instrumentation",
    "Windows Search", "Bluetooth Support Service", "Windows Defender Antivirus Service",
]
_LINUX_SERVICES = [
    "nginx.service", "postgresql.service", "ssh.service", "docker.service", "cron.service",
    "systemd-logind.service", "NetworkManager.service", "containerd.service", "chronyd.service",
]
_USERS = ["svc-web", "svc-api", "admin", "batch", "deploy", "root", "www-data", "postgres", "ec2-user"]
_HOSTS = ["edge-01", "app-02", "db-03", "worker-04", "ntp.pool.org", "time.windows.com"]
_WEB_PATHS = ["/", "/health", "/static/app.js", "/api/v1/users", "/login", "/metrics", "/favicon.ico"]
_ENDPOINTS = ["users", "sessions", "orders", "events", "search"]
_TABLES = ["public.users", "public.sessions", "public.audit", "public.orders"]

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_GEN: Dict[str, Callable[[random.Random], object]] = {
    "wsvc": lambda r: r.choice(_WIN_SERVICES),
    "lsvc": lambda r: r.choice(_LINUX_SERVICES),
    "user": lambda r: r.choice(_USERS),
    "host": lambda r: r.choice(_HOSTS),
    "ip": lambda r: "10.0.%d.%d" % (r.randint(0, 4), r.randint(2, 250)),
    "port": lambda r: r.randint(20000, 65000),
    "pid": lambda r: r.randint(300, 32000),
    "n": lambda r: r.randint(1, 200000),
    "kb": lambda r: "KB%d" % r.randint(4000000, 5060000),
    "path2": lambda r: r.choice(_WEB_PATHS),
    "ep": lambda r: r.choice(_ENDPOINTS),
    "tbl": lambda r: r.choice(_TABLES),
    "cid": lambda r: "%012x" % r.randint(0, 2 ** 44),
    "dev": lambda r: r.choice(["sda1", "nvme0n1p2", "eth0", "wlan0", "enp3s0"]),
    "sm": lambda r: r.randint(0, 6),
    "ts": lambda r: "%04d-%02d-%02dT%02d:%02d:%02dZ"
    % (2025, r.randint(1, 12), r.randint(1, 28), r.randint(0, 23), r.randint(0, 59), r.randint(0, 59)),
}


def _expand(template: str, rng: random.Random) -> str:
    def value(match: "re.Match[str]") -> str:
        make = _GEN.get(match.group(1))
        return match.group(0) if make is None else str(make(rng))

    return _PLACEHOLDER.sub(value, template)


def _template(i: int, rng: random.Random) -> Tuple[str, str]:
    # Every template once, in order, then random picks.
    if i < len(_TEMPLATES):
        return _TEMPLATES[i]
    return rng.choice(_TEMPLATES)


def benign_signals(count: int = 2000, *, seed: int = 0) -> Iterator[str]:
    """``count`` benign log messages (text only), the same for the same ``seed``."""
    rng = random.Random(seed)
    for i in range(count):
        _, template = _template(i, rng)
        yield _expand(template, rng)


def benign_events(count: int = 2000, *, seed: int = 0) -> Iterator[Event]:
    """``count`` benign :class:`Event` objects with realistic sources and increasing
    timestamps from 2025-01-01 UTC (so inter-arrival baselines are primed too)."""
    rng = random.Random(seed)
    when = datetime(2025, 1, 1, tzinfo=timezone.utc)
    for i in range(count):
        source, template = _template(i, rng)
        message = _expand(template, rng)
        when = when + timedelta(seconds=max(0.05, rng.gauss(2.5, 1.5)))
        yield Event(message=message, source=source, timestamp=when)


__all__ = ["benign_signals", "benign_events"]
