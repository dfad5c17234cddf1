"""supportsite/twisted_fast_paths.py reads a Content-Type's media type as Twisted's own parser does."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from supportsite.twisted_fast_paths import media_type

LINES = [
    b"application/json",
    b"application/json; charset=utf-8",
    b"Application/JSON;charset=UTF-8",
    b"  multipart/form-data; boundary=----abc  ",
    b"application/x-www-form-urlencoded",
    b"text/html;q=0.9",
    b"",
    b"json",
    b"/json",
    b"application/",
    b"a/b/c",
    b"application json",
]


def _twisted_original(line: bytes) -> bytes:
    msg = EmailMessage()
    msg["content-type"] = line.decode("charmap")
    return msg.get_content_type().encode("charmap")


@pytest.mark.parametrize("line", LINES)
def test_the_media_type_is_the_one_the_email_package_reads(line):
    assert media_type(line) == _twisted_original(line)
