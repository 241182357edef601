"""Firehose records into their S3 destination the way Firehose writes them.

moto writes every record straight to S3 under the literal prefix, ignoring Firehose's
namespaces, dynamic partitioning, record processors and compression. This writer follows the
AWS documentation pages "Understand custom prefixes for Amazon S3 objects" (s3-prefixes:
`!{timestamp:...}`, `!{firehose:random-string}`, `!{firehose:error-output-type}`, and the
default `YYYY/MM/DD/HH/` prefix when no namespace is used), "Partition streaming data in
Amazon Data Firehose" (dynamic-partitioning: `!{partitionKeyFromQuery:key}` from a JQ
`MetadataExtractionQuery`; a record that cannot be partitioned goes under the error prefix
with error type `partitioning-failed`), "Configure Amazon S3 object name format"
(s3-object-name: `StreamName-Version-YYYY-MM-DD-HH-MM-SS-RandomString`), the
`AppendDelimiterToRecord` processor and GZIP compression (`.gz` objects).

Buffering is not emulated: each delivery is written as its own object at once.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import secrets
import string
import uuid
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Callable, Mapping

logger = logging.getLogger(__name__)

_NAMESPACE = re.compile(r"!\{([A-Za-z]+):([^}]*)\}")
# Java DateTimeFormatter letters Firehose accepts in `!{timestamp:...}`, as strftime.
_JAVA_DATE = [("yyyy", "%Y"), ("yy", "%y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"),
              ("mm", "%M"), ("ss", "%S")]


class PartitioningError(ValueError):
    """A record whose partition keys cannot be extracted (not JSON, query failed, missing)."""


@lru_cache(maxsize=64)
def _compiled(query: str) -> Any:
    import jq

    return jq.compile(query)


def partition_keys(record: bytes, query: str) -> dict[str, str]:
    """The partition keys a JQ `MetadataExtractionQuery` extracts from a JSON record.

    Raises:
        PartitioningError: the record is not JSON or the query gives no object of strings.
    """
    try:
        value = json.loads(record)
    except ValueError as error:
        raise PartitioningError("the record is not JSON") from error
    try:
        result = _compiled(query).input_value(value).first()
    except Exception as error:  # jq's own errors (ValueError, StopIteration)
        raise PartitioningError(f"the metadata extraction query failed: {error}") from error
    if not isinstance(result, dict):
        raise PartitioningError("the metadata extraction query must give an object")
    return {str(k): "" if v is None else str(v) for k, v in result.items()}


def _java_date(pattern: str, moment: datetime) -> str:
    out = pattern
    for java, python in _JAVA_DATE:
        out = out.replace(java, python)
    return moment.strftime(out)


def render_prefix(prefix: str, moment: datetime, keys: Mapping[str, str], *,
                  error_type: str | None = None,
                  random: Callable[[], str] | None = None) -> tuple[str, bool]:
    """Evaluate a prefix's namespaces; return it and whether it used any namespace.

    Raises:
        PartitioningError: it names a partition key the record does not have.
    """
    random = random or (lambda: "".join(secrets.choice(string.ascii_letters + string.digits)
                                        for _ in range(11)))
    used = False

    def replace(match: re.Match[str]) -> str:
        nonlocal used
        used = True
        namespace, argument = match.group(1), match.group(2)
        if namespace == "timestamp":
            return _java_date(argument, moment)
        if namespace == "partitionKeyFromQuery":
            if argument not in keys:
                raise PartitioningError(f"no partition key {argument!r}")
            return keys[argument]
        if namespace == "firehose" and argument == "random-string":
            return random()
        if namespace == "firehose" and argument == "error-output-type":
            return error_type or ""
        raise PartitioningError(f"namespace !{{{namespace}:{argument}}} is not supported")

    return _NAMESPACE.sub(replace, prefix), used


def object_key(prefix: str, used_namespace: bool, stream_name: str, version: str,
               moment: datetime, compression: str) -> str:
    """The S3 key of one object: the prefix (or the default `YYYY/MM/DD/HH/`) and the name."""
    if not used_namespace:
        prefix = prefix + moment.strftime("%Y/%m/%d/%H/")
    name = f"{stream_name}-{version}-{moment.strftime('%Y-%m-%d-%H-%M-%S')}-{uuid.uuid4()}"
    return prefix + name + (".gz" if compression.upper() == "GZIP" else "")


def _processor_parameter(processors: list[Mapping[str, Any]], kind: str, name: str) -> str | None:
    for processor in processors:
        if processor.get("Type") != kind:
            continue
        for parameter in processor.get("Parameters") or []:
            if parameter.get("ParameterName") == name:
                return str(parameter.get("ParameterValue"))
        return ""
    return None


def write_record(s3_config: Mapping[str, Any], stream_name: str, version: str, data: bytes,
                 put_object: Callable[[str, str, bytes], Any],
                 now: datetime | None = None) -> str:
    """Write one record to the destination's bucket as Firehose would; return the key."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    bucket = str(s3_config["BucketARN"]).split(":")[-1]
    processing = s3_config.get("ProcessingConfiguration") or {}
    processors = list(processing.get("Processors") or []) if processing.get("Enabled") else []
    dynamic = bool((s3_config.get("DynamicPartitioningConfiguration") or {}).get("Enabled"))
    compression = str(s3_config.get("CompressionFormat") or "UNCOMPRESSED")
    keys: dict[str, str] = {}
    try:
        query = _processor_parameter(processors, "MetadataExtraction", "MetadataExtractionQuery")
        if dynamic and query:
            keys = partition_keys(data, query)
        prefix, used = render_prefix(str(s3_config.get("Prefix") or ""), moment, keys)
    except PartitioningError as error:
        logger.warning("firehose %s: record to the error prefix: %s", stream_name, error)
        prefix, used = render_prefix(str(s3_config.get("ErrorOutputPrefix") or ""), moment, {},
                                     error_type="partitioning-failed")
        compression = "UNCOMPRESSED"
    else:
        delimiter = _processor_parameter(processors, "AppendDelimiterToRecord", "Delimiter")
        if delimiter is not None:
            # The API takes the delimiter JSON-escaped (`\\n` for a newline).
            data += json.loads(f'"{delimiter or chr(92) + "n"}"').encode()
    body = gzip.compress(data) if compression.upper() == "GZIP" else data
    key = object_key(prefix, used, stream_name, version, moment, compression)
    put_object(bucket, key, body)
    return key


def deliver(account: str, region: str, stream_name: str, data: bytes,
            now: datetime | None = None) -> None:
    """PutRecord into a moto delivery stream, its S3 destinations written as Firehose does.

    Raises:
        LookupError: the delivery stream does not exist.
    """
    from moto.firehose.models import firehose_backends
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    backend = firehose_backends[account][region]
    stream = backend.delivery_streams.get(stream_name)
    if stream is None:
        raise LookupError(f"delivery stream {stream_name} does not exist")
    s3 = s3_backends[account][get_partition(region)]
    others = []
    for destination in stream.destinations:
        config = destination.get("ExtendedS3") or destination.get("S3")
        if config is None:
            others.append(destination)
            continue
        write_record(config, stream_name, str(stream.version_id), data,
                     lambda bucket, key, body: s3.put_object(bucket, key, body), now)
    if others:  # HTTP endpoints and the rest: moto's own delivery
        backend.put_record(stream_name, {"Data": data})
