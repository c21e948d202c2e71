"""A nasty but realistic batch (issue 8), made the way the world makes it, mixed into good forms.

``write_local_batch(dir)`` writes it into a local folder; ``upload_s3_batch(store, prefix)`` puts the
S3 equivalent (the key classes an S3 server can hold). Both return what each upload must end as:
``{key: "accepted" | code}`` — a good form must be accepted, a bad one must carry that code.
"""

from __future__ import annotations

import os
from pathlib import Path

from formintake.samples import base_values, build_sample
from formintake.samples.values import Raw

# provinces with room for one application each (no quota, duplicate or routing findings between them)
GOOD_PROVINCES = ["江苏省", "浙江省", "广东省", "山东省", "福建省", "湖北省"]


def _good(i: int, fmt: str = "docx", **over):
    return build_sample(base_values("platform", 300 + i, province=GOOD_PROVINCES[i], **over), fmt=fmt)


def _bad_values(i: int):
    return base_values("platform", 400 + i, province=GOOD_PROVINCES[i % len(GOOD_PROVINCES)])


def malformed_contact():
    """A form whose contact values are exactly what masking by pattern alone misses."""
    v = _bad_values(1)
    v["contact_phone"] = Raw("1391234567")
    v["contact_email"] = Raw("liwei#163.com")
    return build_sample(v)


def impossible_date():
    v = _bad_values(2)
    v["recommender_date"] = Raw("2023年9月31日")
    return build_sample(v)


def write_local_batch(d: Path) -> dict[str, str]:
    """Good forms under backslash and GBK names, plus links, pipes, junk under control-character folders…"""
    expect: dict[str, str] = {}
    d.mkdir(parents=True, exist_ok=True)
    outside = d.parent / f"{d.name}-elsewhere"
    outside.mkdir(exist_ok=True)

    g0 = _good(0)
    (d / g0.recommender_path).mkdir(exist_ok=True)
    (d / g0.path).write_bytes(g0.data)
    expect[g0.path] = "accepted"

    g1 = _good(1, fmt="pdf")  # a Windows zip unpacked on Linux: the folder is part of the file name
    (d / g1.recommender_path).mkdir(exist_ok=True)
    (d / g1.recommender_path / f"申报材料\\{g1.name}").write_bytes(g1.data)
    expect[f"{g1.recommender_path}/申报材料\\{g1.name}"] = "accepted"

    g2 = _good(2)  # a zip made on Chinese Windows: GBK bytes in folder and file names
    folder = os.path.join(os.fsencode(d), g2.recommender_path.encode("gbk"))
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, g2.name.encode("gbk")), "wb") as fh:
        fh.write(g2.data)
    expect[g2.path] = "accepted"

    g3 = _good(3)  # a link to a form inside DIR is an upload like any (read as the file it names)
    (d / "_原件").mkdir(exist_ok=True)
    (d / "_原件" / "x.docx").write_bytes(b"PK\x03\x04 broken")
    expect["_原件/x.docx"] = "FILE_CORRUPT"
    (d / g3.recommender_path).mkdir(exist_ok=True)
    (d / g3.recommender_path / "原件.docx").write_bytes(g3.data)
    expect[f"{g3.recommender_path}/原件.docx"] = "accepted"

    unit = d / g0.recommender_path
    (unit / "..\\..\\evil.docx").write_bytes(b"\x00" * 64)
    expect[f"{g0.recommender_path}/..\\..\\evil.docx"] = "FILE_UNSUPPORTED_TYPE"
    (unit / "passwd.docx").symlink_to("/etc/passwd")
    expect[f"{g0.recommender_path}/passwd.docx"] = "FILE_NOT_REGULAR"
    stranger = _good(4)
    (outside / stranger.name).write_bytes(stranger.data)
    (unit / "别处的申报书.docx").symlink_to(outside / stranger.name)
    expect[f"{g0.recommender_path}/别处的申报书.docx"] = "FILE_NOT_REGULAR"
    (d / "链接目录").symlink_to(outside, target_is_directory=True)
    expect["链接目录"] = "FILE_NOT_REGULAR"
    (unit / "失效.pdf").symlink_to(d / "no-such-file.pdf")
    expect[f"{g0.recommender_path}/失效.pdf"] = "FILE_NOT_REGULAR"
    if hasattr(os, "mkfifo"):
        os.mkfifo(unit / "管道.docx")
        expect[f"{g0.recommender_path}/管道.docx"] = "FILE_NOT_REGULAR"
    (d / "未知单位\x01\t").mkdir(exist_ok=True)
    (d / "未知单位\x01\t" / "空文件.docx").write_bytes(b"")
    expect["未知单位\x01\t/空文件.docx"] = "FILE_CORRUPT"
    (d / "\u2028单位").mkdir(exist_ok=True)
    (d / "\u2028单位" / "a.pdf").write_bytes(b"%PDF-1.4\n%%EOF")
    expect["\u2028单位/a.pdf"] = "FILE_CORRUPT"

    for s, code in ((malformed_contact(), "FIELD_INVALID_FORMAT"), (impossible_date(), "FIELD_INVALID_FORMAT")):
        (d / s.recommender_path).mkdir(exist_ok=True)
        (d / s.path).write_bytes(s.data)
        expect[s.path] = code
    (d / ".DS_Store").write_bytes(b"\x00\x00")  # hidden: not an upload
    return expect


def long_key(prefix: str, nbytes: int = 1024) -> str:
    """An S3 key of exactly ``nbytes`` UTF-8 bytes (S3's limit is 1,024)."""
    stem = prefix + "很长的文件名"
    while len((stem + "长").encode()) + len(".docx") <= nbytes:
        stem += "长"
    stem += "a" * (nbytes - len(stem.encode()) - len(".docx"))
    return stem + ".docx"


def upload_s3_batch(store, prefix: str = "2023/") -> dict[str, str]:
    """The S3 key classes: backslashes, control characters, U+2028, percent-escapes, a 1,024-byte key.

    Keys with control characters: a good form (accepted, FILE_NAME_ENCODING info: SeaweedFS lists it with
    U+FFFD and the store recovers the name), a broken file, and one whose key was deleted since (only
    its old version is listed, under a name no request reaches: FILE_NAME_UNREADABLE, keyed here by the
    listed name). (A key with ``..`` / ``.`` segments cannot be written through the minio SDK nor stored
    by SeaweedFS, so it cannot reach this pipeline from that server; see docs/decisions.md.)"""
    expect: dict[str, str] = {}
    g0, g1, g3 = _good(0), _good(1, fmt="pdf"), _good(3)
    items = [
        (f"{prefix}{g0.path}", g0.data, "accepted"),
        (f"{prefix}{g1.recommender_path}/申报材料\\{g1.name}", g1.data, "accepted"),
        (long_key(f"{prefix}{_good(2).recommender_path}/"), _good(2).data, "accepted"),
        (f"{prefix}{g3.recommender_path}/申报书\x01{g3.name}", g3.data, "accepted"),
        (f"{prefix}未知单位\x01/a.docx", b"PK\x03\x04 broken", "FILE_NAME_ENCODING"),
        (f"{prefix}tab\t单位/b.docx", b"PK\x03\x04 broken", "FILE_CORRUPT"),
        (f"{prefix}\u2028/c.pdf", b"%PDF-1.4\n%%EOF", "FILE_CORRUPT"),
        (f"{prefix}a/%2e%2e/d.docx", b"\x00" * 64, "FILE_UNSUPPORTED_TYPE"),
        (f"{prefix}{g0.recommender_path}/..\\..\\evil.docx", b"\x00" * 64, None),
    ]
    mc, idate = malformed_contact(), impossible_date()
    items += [(f"{prefix}{mc.path}", mc.data, "FIELD_INVALID_FORMAT"),
              (f"{prefix}{idate.path}", idate.data, "FIELD_INVALID_FORMAT")]
    for key, data, code in items:
        try:
            store.put(key, data)
        except Exception:  # the server refuses to hold such a key: it can never be an upload there
            continue
        expect[key] = code
    gone = f"{prefix}{g0.recommender_path}/旧稿\x02.docx"
    store.put(gone, g0.data)
    store.delete(gone)
    expect[gone.replace("\x02", "\ufffd")] = "FILE_NAME_UNREADABLE"
    return expect
