"""Issue 17 end to end: an imported contact calls in and the desk phone shows their name.

The contact is imported from an .xlsx through the API; the provider (SIPp) calls the campaign
number from the contact's number; desk phone 101 is a plain socket that reads the box's
INVITE, so the display name is checked on the wire; then /api/calls names the contact.
"""

from __future__ import annotations

import base64
import io
import json
import time
import urllib.request
import uuid

import pytest
from openpyxl import Workbook

from tests.e2e.rig import BoxProcess, box_config, free_port_block, sipp_background
from tests.e2e.test_attacks_calls import Peer, answer, header, method, register
from tests.e2e.test_panel import ok, passwd

CAMPAIGN = "+48221234567"
OWNER, OWNER_PW = "boss", "owner-password-17"


@pytest.fixture
def box(tmp_path, need):
    need("sipp")
    base = free_port_block()
    extra = (f'\n[[trunk]]\nname = "provider"\nhost = "127.0.0.2"\nport = {base + 3}\n'
             'register = false\n')
    config = tmp_path / "callbox.toml"
    config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200, extra))
    process = BoxProcess(config, tmp_path / "data").start()
    process.sip_port, process.web_port, process.base = base, base + 1, base
    process.folder, process.url = tmp_path, f"http://127.0.0.1:{base + 1}"
    passwd(process, OWNER, OWNER_PW, "--role", "owner")
    yield process
    process.stop()
    print(process.log()[-4000:])


def _auth() -> str:
    return "Basic " + base64.b64encode(f"{OWNER}:{OWNER_PW}".encode()).decode()


def import_contacts(box, rows: list[list[str]]) -> dict:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    data = io.BytesIO()
    book.save(data)
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"guests.xlsx\"\r\nContent-Type: application/vnd.openxmlformats-"
            f"officedocument.spreadsheetml.sheet\r\n\r\n").encode() + data.getvalue() + \
        f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(box.url + "/api/contacts/import", data=body)
    request.add_header("Authorization", _auth())
    request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def api_calls(box) -> list[dict]:
    request = urllib.request.Request(box.url + "/api/calls")
    request.add_header("Authorization", _auth())
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["calls"]


def test_an_imported_contact_calls_and_the_desk_phone_shows_their_name(box):
    result = import_contacts(box, [["Name", "Company", "Telefon"],
                                   ["Jan Kowalski", "Kowalski Sp. z o.o.", "601 234 567"]])
    assert result["imported"] == 1 and result["rejected"] == []
    register(box, "101", "127.0.0.11", box.base + 4)
    register(box, "102", "127.0.0.12", box.base + 5)
    phone = Peer("127.0.0.11", box.base + 4, box)
    try:
        caller = sipp_background("trunk_call.xml", f"127.0.0.1:{box.sip_port}",
                                 local_ip="127.0.0.2", local_port=box.base + 3, cwd=box.folder,
                                 args=["-key", "dialled", CAMPAIGN, "-key", "caller",
                                       "+48601234567", "-key", "rtp", "40000", "-d", "500"])
        invite = phone.wait(method("INVITE"), timeout=15)
        assert header(invite, "From").startswith('"Shop window: Jan Kowalski" <sip:+48601234567@')
        phone.send(answer(invite, phone, 200, "p1",
                          "v=0\r\no=p 1 1 IN IP4 127.0.0.11\r\ns=-\r\nc=IN IP4 127.0.0.11\r\n"
                          "t=0 0\r\nm=audio 41000 RTP/AVP 0\r\n"))
        phone.wait(method("ACK"))
        bye = phone.wait(method("BYE"), timeout=15)     # the caller hangs up after 0.5 s
        phone.send("SIP/2.0 200 OK\r\n" + "".join(
            f"{name}: {header(bye, name)}\r\n" for name in ("Via", "From", "To", "Call-ID",
                                                            "CSeq"))
            + "Content-Length: 0\r\n\r\n")
        ok(caller)
    finally:
        phone.close()
    deadline = time.monotonic() + 10
    while not (calls := api_calls(box)):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert calls[0]["contact"]["name"] == "Jan Kowalski"
    assert (calls[0]["caller"], calls[0]["campaign"], calls[0]["answered_by"]) == \
        ("+48601234567", "Shop window", "101")
