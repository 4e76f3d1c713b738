"""Conversation ids for SMS, WhatsApp and Telegram: stable, unreadable, reachable, and unforgeable."""
from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys

import pytest

from channels import identity
from channels.identity import KeyProblem, UnknownSender, address_of, sender_for

TEST_KEY = "9U5OZZ9i42xN31jxr6WBORMusBT8lteCNnb-PWU-CQPxDPI7htObmXSs_S9ZjyqRTJpR88V2mSy7oFnKfIXALQ"  # tests only
ROOT = identity.ROOT


@pytest.fixture(autouse=True)
def test_key(monkeypatch):
    monkeypatch.setenv("SIGNPOST_SECRET_KEY", TEST_KEY)


@pytest.mark.parametrize("kind,address", [("sms", "+447700900123"), ("wa", "+447700900123"), ("tg", "918273645"),
                                          ("tg", "-1001234567890"), ("sms", "+4915112345678901")])
def test_the_same_address_always_gives_the_same_id_and_the_address_comes_back(kind, address):
    sender = sender_for(kind, address)
    assert sender == sender_for(kind, address) and sender.startswith(kind + "-")
    assert identity.SENDER_ID.match(sender) and len(sender) <= 128
    assert address.lstrip("+-") not in sender  # nothing readable
    assert address_of(sender) == (kind, address)


def test_ids_differ_between_people_and_between_channels():
    ids = {sender_for("sms", "+447700900123"), sender_for("sms", "+447700900124"),
           sender_for("wa", "+447700900123"), sender_for("wa", "whatsapp:+447700900123")}
    assert len(ids) == 3  # 'whatsapp:' is the same WhatsApp address


def test_the_longest_address_still_fits_in_128_characters():
    sender = sender_for("sms", "A" * 20)
    assert len(sender) <= 128 and address_of(sender) == ("sms", "A" * 20)


@pytest.mark.parametrize("kind,address", [("sms", ""), ("sms", "+44(7700)900123"), ("tg", "abc"),
                                          ("wa", "not-a-number"), ("email", "a@b.c"), ("tg", "1" * 21)])
def test_an_address_that_is_not_one_is_refused_without_echoing_it(kind, address):
    with pytest.raises(ValueError) as problem:
        sender_for(kind, address)
    assert not address or address not in str(problem.value)


def test_a_forged_altered_or_foreign_id_is_refused(monkeypatch):
    real = sender_for("sms", "+447700900123")
    flipped = real[:-1] + ("a" if real[-1] != "a" else "b")  # may only touch base32 padding bits
    middle = real[:12] + ("a" if real[12] != "a" else "b") + real[13:]
    for forged in (flipped, middle, real.upper(), "wa-" + real[4:], "sms-" + "a" * 40, "sms-", "web-abc", "tg-!!!", "", "sms-" + real):
        with pytest.raises(UnknownSender):
            address_of(forged)
    monkeypatch.setenv("SIGNPOST_SECRET_KEY", identity.generate_key())
    with pytest.raises(UnknownSender, match="SIGNPOST_SECRET_KEY"):
        address_of(real)


def test_keys_in_base64_or_hex_work_and_a_bad_key_says_how_to_fix_it(monkeypatch):
    raw = os.urandom(64)
    import base64

    for written in (raw.hex(), base64.urlsafe_b64encode(raw).decode(), base64.b64encode(raw).decode(),
                    base64.urlsafe_b64encode(raw).decode().rstrip("=")):
        assert identity.parse_key(written) == raw
    for bad in ("", "short", "x" * 86 + "!", os.urandom(32).hex()):
        monkeypatch.setenv("SIGNPOST_SECRET_KEY", bad or " ")
        with pytest.raises(KeyProblem, match="SIGNPOST_SECRET_KEY must be 64 random bytes.*python -m channels.identity"):
            sender_for("sms", "+447700900123") if bad else identity.parse_key(bad)


def test_without_the_variable_a_private_development_key_is_made_once_and_reused(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    monkeypatch.delenv("SIGNPOST_SECRET_KEY")
    key_file = tmp_path / "dot-signpost" / "secret.key"
    monkeypatch.setenv("SIGNPOST_SECRET_KEY_FILE", str(key_file))
    monkeypatch.setattr(identity, "_warned", False)
    first = sender_for("sms", "+447700900123")
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert sender_for("sms", "+447700900123") == first  # reused, not remade
    assert caplog.text.count("A production deployment must set SIGNPOST_SECRET_KEY") == 1
    monkeypatch.setenv("SIGNPOST_SECRET_KEY", key_file.read_text().strip())
    assert sender_for("sms", "+447700900123") == first  # the same key, given as the variable


def test_the_key_file_is_git_ignored():
    assert ".signpost/" in (ROOT / ".gitignore").read_text().split()


def test_the_module_prints_a_usable_new_key():
    result = subprocess.run([sys.executable, "-m", "channels.identity"], cwd=ROOT, capture_output=True, text=True,
                            check=True)
    key = result.stdout.strip()
    assert len(identity.parse_key(key)) == 64 and key != identity.generate_key()
