"""Faults: small objects with ``inject``/``revert``/``describe``, undone in reverse by a FaultStack.

    process    Kill, Crash, Stop, Start, Restart, Pause, Unpause, Churn
    network    Partition, OneWayCut, Refuse, PacketLoss (iptables), Isolate (network disconnect)
    link       Latency, Bandwidth, Blackhole, ResetPeer, Truncate, SlowClose (fault proxy toxics)
    edge       EdgeFault, Hop: a toxic on any edge (proxy container on demand + DNAT in the client)
    ports      which port of a service, which way round an edge runs
    resources  CpuSqueeze, MemoryLimit, DiskFull
    data       CorruptFile, SqliteLock
    stack      Fault (protocol), FaultStack, Timeline, TimelineEvent, RevertFailed

Targets are docker SDK ``Container`` objects; the caller resolves compose service names.
The fault proxy itself is ``harness/faults/proxy.py`` (``python3 -m harness.faults.proxy``); its
container is started per compose project by ``proxy_container.py``.
"""

from __future__ import annotations

from harness.faults.data import CorruptFile, SqliteLock
from harness.faults.edge import EdgeFault, Hop
from harness.faults.link import Bandwidth, Blackhole, Latency, ResetPeer, SlowClose, ToxicFault, Truncate
from harness.faults.netns import HelperRunner, NetnsRunner, NsenterRunner, default_runner
from harness.faults.network import CHAIN, Isolate, OneWayCut, PacketLoss, Partition, Refuse
from harness.faults.process import Churn, Crash, Kill, Pause, Restart, Start, Stop, Unpause
from harness.faults.proxy_client import ProxyApiError, ProxyClient
from harness.faults.resources import CpuSqueeze, DiskFull, MemoryLimit
from harness.faults.stack import Fault, FaultStack, RevertFailed, Timeline, TimelineEvent

__all__ = [
    "CHAIN",
    "Bandwidth",
    "Blackhole",
    "Churn",
    "CorruptFile",
    "CpuSqueeze",
    "Crash",
    "DiskFull",
    "EdgeFault",
    "Fault",
    "FaultStack",
    "HelperRunner",
    "Hop",
    "Isolate",
    "Kill",
    "Latency",
    "MemoryLimit",
    "NetnsRunner",
    "NsenterRunner",
    "OneWayCut",
    "PacketLoss",
    "Partition",
    "Pause",
    "ProxyApiError",
    "ProxyClient",
    "Refuse",
    "ResetPeer",
    "Restart",
    "RevertFailed",
    "SlowClose",
    "SqliteLock",
    "Start",
    "Stop",
    "Timeline",
    "TimelineEvent",
    "ToxicFault",
    "Truncate",
    "Unpause",
    "default_runner",
]
