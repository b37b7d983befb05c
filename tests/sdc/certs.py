"""Certificates for SDC over TLS, made by the test with the `openssl` command: a
CA and certificates it signs, each in a folder of sdc11073's file names
(usercert.pem, userkey.pem, cacert.pem), as VITALWATCH_SDC_CERTS and the
simulator's --certs take them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(folder: Path, name: str) -> Path:
    """A self-signed CA (key and certificate) in `folder`: its certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("the SDC TLS tests make their certificates with the openssl command")
    folder.mkdir(parents=True, exist_ok=True)
    key, cert = folder / "ca.key", folder / "ca.pem"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}",
    )  # fmt: skip
    return cert


def issue(ca: Path, folder: Path, name: str) -> Path:
    """A certificate for `name` signed by the CA of `ca`, in a folder of its own
    with that CA as cacert.pem: the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    key, csr, cert = folder / "userkey.pem", folder / "user.csr", folder / "usercert.pem"
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
        "-subj", f"/CN={name}",
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca.with_suffix(".key")),
        "-CAcreateserial", "-days", "2", "-out", str(cert),
    )  # fmt: skip
    shutil.copy(ca, folder / "cacert.pem")
    return folder
