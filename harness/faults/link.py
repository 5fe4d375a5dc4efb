"""Link faults: a toxic on a fault-proxy route, added on inject and deleted on revert."""

from __future__ import annotations

import uuid

from harness.faults.proxy_client import ProxyClient


class ToxicFault:
    """Base: one named toxic on one proxy."""

    toxic_type = ""

    def __init__(self, client: ProxyClient, proxy: str, attributes: dict[str, float], *,
                 stream: str = "downstream", toxicity: float = 1.0) -> None:
        self.client = client
        self.proxy = proxy
        self.attributes = attributes
        self.stream = stream
        self.toxicity = toxicity
        self.name = f"harness-{self.toxic_type}-{uuid.uuid4().hex[:8]}"

    @property
    def target(self) -> str:
        """The proxy route's name."""
        return self.proxy

    def describe(self) -> str:
        """One line for logs."""
        attrs = " ".join(f"{k}={v:g}" for k, v in self.attributes.items())
        return f"{self.toxic_type} {attrs} on {self.proxy} ({self.stream})"

    def inject(self) -> None:
        """Add the toxic."""
        self.client.add_toxic(self.proxy, self.toxic_type, self.attributes, name=self.name,
                              stream=self.stream, toxicity=self.toxicity)

    def revert(self) -> None:
        """Delete the toxic (already gone is fine)."""
        self.client.remove_toxic(self.proxy, self.name, missing_ok=True)


class Latency(ToxicFault):
    """Delay data by ``latency_ms`` ± ``jitter_ms``."""

    toxic_type = "latency"

    def __init__(self, client: ProxyClient, proxy: str, latency_ms: float, jitter_ms: float = 0.0, *,
                 stream: str = "downstream", toxicity: float = 1.0) -> None:
        super().__init__(client, proxy, {"latency": latency_ms, "jitter": jitter_ms},
                         stream=stream, toxicity=toxicity)


class Bandwidth(ToxicFault):
    """Throttle to ``rate_kbps`` KB/s."""

    toxic_type = "bandwidth"

    def __init__(self, client: ProxyClient, proxy: str, rate_kbps: float, *, stream: str = "downstream",
                 toxicity: float = 1.0) -> None:
        super().__init__(client, proxy, {"rate": rate_kbps}, stream=stream, toxicity=toxicity)


class Blackhole(ToxicFault):
    """Hold all data; close the connection after ``timeout_ms`` (0: hold until reverted)."""

    toxic_type = "timeout"

    def __init__(self, client: ProxyClient, proxy: str, timeout_ms: float = 0.0, *,
                 stream: str = "downstream", toxicity: float = 1.0) -> None:
        super().__init__(client, proxy, {"timeout": timeout_ms}, stream=stream, toxicity=toxicity)


class ResetPeer(ToxicFault):
    """Reset connections (TCP RST) after ``timeout_ms``."""

    toxic_type = "reset_peer"

    def __init__(self, client: ProxyClient, proxy: str, timeout_ms: float = 0.0, *,
                 stream: str = "downstream", toxicity: float = 1.0) -> None:
        super().__init__(client, proxy, {"timeout": timeout_ms}, stream=stream, toxicity=toxicity)


class Truncate(ToxicFault):
    """Close a connection after ``limit_bytes`` bytes in the stream's direction."""

    toxic_type = "limit_data"

    def __init__(self, client: ProxyClient, proxy: str, limit_bytes: int, *, stream: str = "downstream",
                 toxicity: float = 1.0) -> None:
        super().__init__(client, proxy, {"bytes": float(limit_bytes)}, stream=stream, toxicity=toxicity)


class SlowClose(ToxicFault):
    """Delay forwarding a connection's close by ``delay_ms``."""

    toxic_type = "slow_close"

    def __init__(self, client: ProxyClient, proxy: str, delay_ms: float, *, stream: str = "downstream",
                 toxicity: float = 1.0) -> None:
        super().__init__(client, proxy, {"delay": delay_ms}, stream=stream, toxicity=toxicity)
