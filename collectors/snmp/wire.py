"""SNMP requests on one shared pysnmp engine: GET, GETNEXT and GETBULK with clear errors.

This talks to pysnmp's engine-level command generators directly instead of the hlapi
helpers: the hlapi re-registers an SNMPv3 user each time two devices use the same user name
with different passwords, and it repeats its configuration lookups on every request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pyasn1.type import univ
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config as engine_config
from pysnmp.entity.engine import SnmpEngine
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.error import PySnmpError
from pysnmp.proto import errind, rfc1902, rfc1905
from pysnmp.proto.error import StatusInformation

from collectors.snmp.config import SnmpTarget

log = logging.getLogger(__name__)

Oid = tuple[int, ...]

_AUTH_PROTOCOLS: dict[str, tuple[int, ...]] = {
    "MD5": engine_config.USM_AUTH_HMAC96_MD5,
    "SHA": engine_config.USM_AUTH_HMAC96_SHA,
    "SHA-224": engine_config.USM_AUTH_HMAC128_SHA224,
    "SHA-256": engine_config.USM_AUTH_HMAC192_SHA256,
    "SHA-384": engine_config.USM_AUTH_HMAC256_SHA384,
    "SHA-512": engine_config.USM_AUTH_HMAC384_SHA512,
}
_PRIV_PROTOCOLS: dict[str, tuple[int, ...]] = {
    "DES": engine_config.USM_PRIV_CBC56_DES,
    "AES-128": engine_config.USM_PRIV_CFB128_AES,
    "AES-192": engine_config.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "AES-256": engine_config.USM_PRIV_CFB256_AES_BLUMENTHAL,
    "AES-192-C": engine_config.USM_PRIV_CFB192_AES,
    "AES-256-C": engine_config.USM_PRIV_CFB256_AES,
}

# Status words an agent can put in a response's error-status field (RFC 3416).
_ERROR_STATUS = {
    1: "tooBig",
    2: "noSuchName",
    3: "badValue",
    4: "readOnly",
    5: "genErr",
    6: "noAccess",
    7: "wrongType",
    8: "wrongLength",
    9: "wrongEncoding",
    10: "wrongValue",
    11: "noCreation",
    12: "inconsistentValue",
    13: "resourceUnavailable",
    14: "commitFailed",
    15: "undoFailed",
    16: "authorizationError",
    17: "notWritable",
    18: "inconsistentName",
}


def oid_text(oid: Oid) -> str:
    return ".".join(str(part) for part in oid)


def parse_oid(text: str) -> Oid:
    """'1.3.6.1.2.1.1.1.0' or '.1.3.6...' to a tuple; ValueError with the offending text."""
    cleaned = text.strip().lstrip(".")
    try:
        parts = tuple(int(part) for part in cleaned.split("."))
    except ValueError:
        raise ValueError(f"{text!r} is not a numeric OID (write it like 1.3.6.1.2.1.1.1.0)") from None
    if len(parts) < 2 or any(part < 0 for part in parts):
        raise ValueError(f"{text!r} is not a numeric OID (write it like 1.3.6.1.2.1.1.1.0)")
    return parts


@dataclass(frozen=True, slots=True)
class Raw:
    """One value as it came off the wire, reduced to plain Python.

    kind: "int" (INTEGER, Gauge32, Counter32/64, TimeTicks, Unsigned32), "octets" (OCTET STRING,
    Opaque, IpAddress, BITS), "oid", "null", or one of the exceptions "noSuchObject",
    "noSuchInstance", "endOfMibView", or "error" when the agent answered this OID with an
    error-status (type_name then holds it, e.g. genErr). type_name keeps the SMI type for messages.
    """

    kind: str
    type_name: str
    value: int | bytes | Oid | None = None

    @property
    def missing(self) -> bool:
        return self.kind in ("noSuchObject", "noSuchInstance", "endOfMibView", "error")

    def describe(self) -> str:
        if self.kind == "octets" and isinstance(self.value, bytes):
            shown = self.value[:24]
            text = shown.decode("ascii", "replace") if shown.isascii() else shown.hex()
            return f"{self.type_name} {text!r}"
        if self.value is None:
            return self.type_name
        return f"{self.type_name} {self.value!r}"


MAX_OCTETS = 4096  # no value the profiles read is longer; a device sending more is cut


def to_raw(value: Any) -> Raw:
    """Reduce a pyasn1 value to a Raw. Never raises: unknown types become octets of their text."""
    type_name = type(value).__name__
    if isinstance(value, rfc1905.NoSuchObject):
        return Raw("noSuchObject", "noSuchObject")
    if isinstance(value, rfc1905.NoSuchInstance):
        return Raw("noSuchInstance", "noSuchInstance")
    if isinstance(value, rfc1905.EndOfMibView):
        return Raw("endOfMibView", "endOfMibView")
    if isinstance(value, univ.Integer):
        return Raw("int", type_name, int(value))
    if isinstance(value, univ.OctetString):
        return Raw("octets", type_name, bytes(value)[:MAX_OCTETS])
    if isinstance(value, univ.ObjectIdentifier):
        return Raw("oid", type_name, tuple(value))
    if isinstance(value, univ.Null):
        return Raw("null", type_name)
    return Raw("octets", type_name, str(value).encode())


class SnmpRequestError(Exception):
    """A request to one device failed as a whole; the message is meant for a person."""

    def __init__(self, message: str, *, kind: str, oid: Oid | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.oid = oid


def describe_error_indication(indication: object, target: SnmpTarget) -> tuple[str, str]:
    """(kind, message) for an engine-level failure such as a timeout or a v3 report."""
    where = f"{target.host}:{target.port}"
    if isinstance(indication, errind.RequestTimedOut):
        retries = "retry" if target.retries == 1 else "retries"
        hint = (
            "check host, port, SNMP version and community" if target.version != "3" else "check host and port"
        )
        return "timeout", (
            f"timed out after {target.retries} {retries} ({target.timeout_s:g} s each): "
            f"no valid SNMP answer from {where}; {hint}, and that a firewall lets UDP through"
        )
    if isinstance(indication, errind.WrongDigest | errind.AuthenticationFailure | errind.AuthenticationError):
        return (
            "auth",
            f"authentication failed (wrong password or user?) for SNMPv3 user {target.user!r} at {where}",
        )
    if isinstance(indication, errind.UnknownUserName | errind.UnknownSecurityName):
        return "auth", f"authentication failed: {where} does not know SNMPv3 user {target.user!r}"
    if isinstance(indication, errind.DecryptionError):
        return (
            "auth",
            f"decryption failed (wrong privacy password or protocol?) for SNMPv3 user {target.user!r}",
        )
    if isinstance(indication, errind.UnsupportedSecurityLevel):
        return "auth", (
            f"{where} refuses security level {target.security_level} for user {target.user!r}; "
            "check auth_protocol / priv_protocol against the device's settings"
        )
    if isinstance(indication, errind.NotInTimeWindow):
        return "auth", f"SNMPv3 time window error with {where} (device clock/engine boots changed); retry"
    if isinstance(indication, errind.UnknownEngineID):
        return "auth", f"SNMPv3 engine discovery with {where} failed"
    if isinstance(indication, errind.UnknownCommunityName):
        return "auth", f"{where} rejected the community name"
    return "protocol", f"SNMP error from {where}: {indication}"


class _Engine:
    """One pysnmp engine with its UDP socket and the targets registered on it.

    Targets get names per distinct (credentials, address, timing). pysnmp indexes SNMPv3
    users by user name, so one engine can hold only one set of keys per user name; a device
    that reuses a user name with other passwords goes to a further engine (rare in practice).
    """

    def __init__(self) -> None:
        self.engine = SnmpEngine()
        self.get = cmdgen.GetCommandGenerator()
        self.next = cmdgen.NextCommandGeneratorSingleRun()
        self.bulk = cmdgen.BulkCommandGeneratorSingleRun()
        self.users: dict[str, tuple[object, ...]] = {}
        self._transport_open = False
        self._security: dict[tuple[object, ...], str] = {}
        self._params: dict[tuple[object, ...], str] = {}
        self._addresses: dict[tuple[object, ...], str] = {}

    def accepts(self, target: SnmpTarget) -> bool:
        if target.version != "3":
            return True
        known = self.users.get(target.user or "")
        return known is None or known == _usm_credentials(target)

    def close(self) -> None:
        if self._transport_open:
            self.engine.close_dispatcher()
            self._transport_open = False

    def open(self) -> None:
        """Open the UDP socket (needs the running event loop)."""
        if not self._transport_open:
            engine_config.add_transport(
                self.engine, udp.DOMAIN_NAME, udp.UdpAsyncioTransport().open_client_mode()
            )
            self._transport_open = True

    def target_name(self, target: SnmpTarget) -> str:
        """Register the target's credentials and address if new (no I/O); return its name."""
        security_name = self._security_name(target)
        level = target.security_level
        mp_model = {"1": 0, "2c": 1, "3": 3}[target.version]
        params_key = (security_name, level, mp_model)
        params = self._params.get(params_key)
        if params is None:
            params = f"p{len(self._params)}"
            engine_config.add_target_parameters(self.engine, params, security_name, level, mp_model)
            self._params[params_key] = params
        address_key = (params, target.host, target.port, target.timeout_s, target.retries)
        address = self._addresses.get(address_key)
        if address is None:
            address = f"a{len(self._addresses)}"
            engine_config.add_target_address(
                self.engine,
                address,
                udp.DOMAIN_NAME,
                (target.host, target.port),
                params,
                timeout=target.timeout_s * 100,  # hundredths of a second
                retryCount=target.retries,
            )
            self._addresses[address_key] = address
        return address

    def _security_name(self, target: SnmpTarget) -> str:
        if target.version in ("1", "2c"):
            key = ("community", target.community)
            name = self._security.get(key)
            if name is None:
                name = f"c{len(self._security)}"
                engine_config.add_v1_system(self.engine, name, target.community or "", securityName=name)
                self._security[key] = name
            return name
        user = target.user or ""
        if user not in self.users:
            engine_config.add_v3_user(
                self.engine,
                user,
                _AUTH_PROTOCOLS[target.auth_protocol]
                if target.auth_protocol
                else engine_config.USM_AUTH_NONE,
                target.auth_key,
                _PRIV_PROTOCOLS[target.priv_protocol]
                if target.priv_protocol
                else engine_config.USM_PRIV_NONE,
                target.priv_key,
            )
            self.users[user] = _usm_credentials(target)
        return user


def _usm_credentials(target: SnmpTarget) -> tuple[object, ...]:
    return (target.auth_protocol, target.auth_key, target.priv_protocol, target.priv_key)


VarBinds = list[tuple[Oid, Raw]]
_NULL = univ.Null("")


class SnmpWire:
    """The process's SnmpEngine and the three read operations on it.

    Must be used from one asyncio event loop; the UDP socket opens on first use.
    """

    def __init__(self) -> None:
        self._engines = [_Engine()]
        self._placement: dict[str, _Engine] = {}
        self._names: dict[Oid, rfc1902.ObjectName] = {}

    def close(self) -> None:
        for engine in self._engines:
            engine.close()

    def register(self, targets: Sequence[SnmpTarget]) -> None:
        """Register many targets at once, before polling them.

        pysnmp rebuilds its community and user maps on the first message after any change, by
        walking its tables: registering 1,000 devices one poll at a time costs 1,000 rebuilds of a
        growing table (over a minute of CPU); registering them together costs one.
        """
        for target in targets:
            self._engine_for(target).target_name(target)

    def _name(self, oid: Oid) -> rfc1902.ObjectName:
        # Building an ObjectName costs more than sending it; devices of a model share OIDs.
        name = self._names.get(oid)
        if name is None:
            if len(self._names) > 100_000:
                self._names.clear()
            name = self._names[oid] = rfc1902.ObjectName(oid)
        return name

    def _engine_for(self, target: SnmpTarget) -> _Engine:
        engine = self._placement.get(target.equipment_id)
        if engine is not None and engine.accepts(target):
            return engine
        for engine in self._engines:
            if engine.accepts(target):
                break
        else:
            log.info("snmp: user %r reused with other passwords; adding an SNMP engine for it", target.user)
            engine = _Engine()
            self._engines.append(engine)
        self._placement[target.equipment_id] = engine
        return engine

    async def get(self, target: SnmpTarget, oids: Sequence[Oid]) -> VarBinds:
        return await self._request(target, "get", oids)

    async def get_next(self, target: SnmpTarget, oids: Sequence[Oid]) -> VarBinds:
        return await self._request(target, "next", oids)

    async def get_bulk(self, target: SnmpTarget, oids: Sequence[Oid], max_repetitions: int) -> VarBinds:
        return await self._request(target, "bulk", oids, max_repetitions)

    async def _request(
        self, target: SnmpTarget, op: str, oids: Sequence[Oid], max_repetitions: int = 0
    ) -> VarBinds:
        slot = self._engine_for(target)
        slot.open()
        name = slot.target_name(target)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[object, int, int, Sequence[Any]]] = loop.create_future()

        def on_response(
            _engine: SnmpEngine,
            _handle: object,
            error_indication: object,
            error_status: Any,
            error_index: Any,
            var_binds: Sequence[Any],
            _ctx: object,
        ) -> None:
            if not future.done():
                future.set_result(
                    (error_indication, int(error_status or 0), int(error_index or 0), var_binds)
                )

        request = [(self._name(oid), _NULL) for oid in oids]
        try:
            if op == "get":
                slot.get.send_varbinds(slot.engine, name, None, "", request, on_response)
            elif op == "next":
                slot.next.send_varbinds(slot.engine, name, None, "", request, on_response)
            else:
                slot.bulk.send_varbinds(slot.engine, name, None, "", 0, max_repetitions, request, on_response)
        except StatusInformation as exc:  # raised at once when e.g. the USM can't build the message
            kind, message = describe_error_indication(exc.get("errorIndication"), target)
            raise SnmpRequestError(message, kind=kind) from None
        except PySnmpError as exc:
            raise SnmpRequestError(
                f"SNMP request to {target.host}:{target.port} failed: {exc}", kind="protocol"
            ) from None
        # pysnmp times out by itself; this outer limit only guards against a lost callback
        # (a timer handle, cheaper than wait_for's task per request).
        limit = target.timeout_s * (target.retries + 1) + 5.0

        def expire() -> None:
            if not future.done():
                future.set_result((errind.requestTimedOut, 0, 0, ()))

        guard = loop.call_later(limit, expire)
        try:
            indication, status, index, var_binds = await future
        finally:
            guard.cancel()
        if indication:
            kind, message = describe_error_indication(indication, target)
            raise SnmpRequestError(message, kind=kind)
        if status:
            word = _ERROR_STATUS.get(status, f"error-status {status}")
            bad_oid = oids[index - 1] if 0 < index <= len(oids) else None
            at = f" at {oid_text(bad_oid)}" if bad_oid else ""
            raise SnmpRequestError(f"{word}{at}", kind=word, oid=bad_oid)
        return [(tuple(oid), to_raw(value)) for oid, value in var_binds]
