"""Pack CIFAKE's archive.zip losslessly into what fits the device tool's 64 MiB working tree, and unpack it.

All 120,000 CIFAKE JPEGs share one byte-identical header (quantisation and Huffman tables, 32x32 frame, up to
the end of the SOS segment), so storing that header once plus each file's entropy-coded scan (without the
final EOI marker) shrinks 111 MB of JPEG files to 36 MB, and joining header + scan + EOI gives back every file
byte for byte (checked against an MD5 over all files in archive order).

    python cifake_pack.py pack ARCHIVE.zip OUTDIR      # here
    python cifake_pack.py unpack OUTDIR ARCHIVE.zip    # on the device: a stored zip, same members, same order
"""
import gzip
import hashlib
import json
import sys
import zipfile
from pathlib import Path

SOS, EOI = b"\xff\xda", b"\xff\xd9"


def split_jpeg(data: bytes) -> tuple[bytes, bytes]:
    start = data.index(SOS)
    end = start + 2 + int.from_bytes(data[start + 2 : start + 4], "big")
    assert data.endswith(EOI)
    return data[:end], data[end:-2]


def pack(archive: str, out: str) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    source = zipfile.ZipFile(archive)
    names, lengths, header, digest = [], [], None, hashlib.md5()
    with open(out / "cifake_scans.bin", "wb") as scans:
        for info in source.infolist():
            if info.is_dir():
                continue
            data = source.read(info)
            file_header, scan = split_jpeg(data)
            header = header or file_header
            assert file_header == header, info.filename
            digest.update(data)
            names.append(info.filename)
            lengths.append(len(scan))
            scans.write(scan)
    index = {"header": header.hex(), "names": names, "lengths": lengths, "md5": digest.hexdigest()}
    (out / "cifake_index.json.gz").write_bytes(gzip.compress(json.dumps(index).encode()))
    print(f"{len(names)} files, scans {sum(lengths) / 1e6:.1f} MB, md5 {digest.hexdigest()}")


def unpack(packed: str, archive: str) -> None:
    packed = Path(packed)
    index = json.loads(gzip.decompress((packed / "cifake_index.json.gz").read_bytes()))
    header = bytes.fromhex(index["header"])
    digest = hashlib.md5()
    Path(archive).parent.mkdir(parents=True, exist_ok=True)
    with open(packed / "cifake_scans.bin", "rb") as scans, zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as target:
        for name, length in zip(index["names"], index["lengths"]):
            data = header + scans.read(length) + EOI
            digest.update(data)
            target.writestr(name, data)
    if digest.hexdigest() != index["md5"]:
        sys.exit(f"unpacked CIFAKE differs from the original: md5 {digest.hexdigest()} != {index['md5']}")
    print(f"unpacked {len(index['names'])} files into {archive}, md5 matches the original")


if __name__ == "__main__":
    {"pack": pack, "unpack": unpack}[sys.argv[1]](*sys.argv[2:])
