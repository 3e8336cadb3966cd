import hashlib
from pathlib import Path

import pytest

from eotdl.errors import InputError
from eotdl.storage import hashing


def test_sha256_file_and_verify(tmp_path: Path) -> None:
    data = b"x" * (hashing.CHUNK * 2 + 17)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    assert hashing.sha256_file(path) == sha
    assert hashing.sha256_and_size(path) == (sha, len(data))
    checksum = hashing.multihash_sha256(sha)
    assert checksum == "1220" + sha
    assert hashing.sha256_of_checksum(checksum.upper()) == sha
    assert hashing.verify_file(path, checksum, len(data))
    assert hashing.verify_file(path)
    assert not hashing.verify_file(path, checksum, len(data) + 1)
    assert not hashing.verify_file(path, "1220" + "0" * 64)
    assert not hashing.verify_file(tmp_path / "missing", checksum)


def test_other_multihashes_are_refused() -> None:
    with pytest.raises(InputError, match="not a sha2-256"):
        hashing.sha256_of_checksum("1340" + "ab" * 64)  # sha2-512
    with pytest.raises(InputError, match="not a valid multihash"):
        hashing.sha256_of_checksum("nonsense")


def test_a_prefetched_hash_is_taken_only_for_the_file_as_it_was(tmp_path, monkeypatch):
    import hashlib

    from eotdl.storage import hashing

    reads: list[str] = []
    real = hashing._sha256_and_size

    def counting(path):
        reads.append(str(path))
        return real(path)

    monkeypatch.setattr(hashing, "_sha256_and_size", counting)
    path = tmp_path / "big.bin"
    path.write_bytes(b"a" * 100_000)
    hashing.prefetch_sha256(path)
    assert hashing.sha256_and_size(path) == (hashlib.sha256(b"a" * 100_000).hexdigest(), 100_000)
    assert len(reads) == 1  # the background read, not a second one
    hashing.prefetch_sha256(path)
    path.write_bytes(b"b" * 99)  # changed after the prefetch: hashed again, as it is now
    assert hashing.sha256_and_size(path) == (hashlib.sha256(b"b" * 99).hexdigest(), 99)
