"""`camdiag flash` against esptool's own write-flash, with the serial side faked: the loader
below is esptool's ESP32-S3 ROM class whose command() is a model of the chip's flash, so
esptool's block writes, progress and MD5 verification all run for real (in ROM-loader mode,
--no-stub: the model does not run esptool's stub flasher). Deploying camdiag afterwards
goes to a virtual board."""

import hashlib
import struct

import pytest

from camdiag_host import cli, flash
from camdiag_host.simboard import VirtualBoard


class FakePort:
    port = "fake"
    baudrate = 115200
    timeout = 1
    in_waiting = 0

    def read(self, n=1):
        return b""

    def write(self, d):
        return len(d)

    def flush(self):
        pass

    def close(self):
        pass

    def reset_input_buffer(self):
        pass

    flushInput = reset_input_buffer

    def inWaiting(self):
        return 0


def fake_s3():
    from esptool.targets.esp32s3 import ESP32S3ROM

    class FakeS3(ESP32S3ROM):
        def __init__(self):
            super().__init__(FakePort())
            self.flash = bytearray(b"\xff" * (4 << 20))
            self.ops = []
            self.resets = 0

        def command(self, op=None, data=b"", chk=0, wait_response=True, timeout=3):
            c = self.ESP_CMDS
            self.ops.append(op)
            if op == c["FLASH_BEGIN"]:
                self._begin = struct.unpack("<IIII", data[:16])
            elif op == c["FLASH_DATA"]:
                length, seq = struct.unpack("<II", data[:8])
                at = self._begin[3] + seq * self._begin[2]
                self.flash[at:at + length] = data[16:16 + length]
            elif op == c["ERASE_FLASH"]:
                self.flash[:] = b"\xff" * len(self.flash)
            elif op == c["SPI_FLASH_MD5"]:
                addr, size = struct.unpack("<IIII", data)[:2]
                md5 = hashlib.md5(self.flash[addr:addr + size]).hexdigest().encode()
                return 0, md5 + b"\0\0\0\0"
            return 0, b"\0\0\0\0"

        def read_reg(self, addr, timeout=3):
            return 0

        def hard_reset(self, *a, **k):
            self.resets += 1

    return FakeS3()


def image(n=20000):
    return bytes([0xE9, 3, 2, 0x20]) + bytes((i * 7) % 251 for i in range(n))


def test_flash_writes_the_image_then_deploys(tmp_path, monkeypatch, capsys):
    fw = tmp_path / "ESP32_GENERIC_S3.bin"
    fw.write_bytes(image())
    chip = fake_s3()
    monkeypatch.setattr(flash, "esp_for", lambda port: chip)
    deployed = []  # (the deploy itself is tested on virtual boards: test_deploy_round_trip)
    monkeypatch.setattr("camdiag_host.deploy.deploy", lambda link, board, say=None: (
        deployed.append((link.port, board)) or {"changed": ["/lib/camdiag/app.mpy"]}))
    monkeypatch.setattr("camdiag_host.deploy.reboot_into_app", lambda link: None)
    with VirtualBoard(options={"realtime": "0"}) as vb:  # the board after its reset
        assert vb.wait_ready(15)
        rc = cli.main(["flash", "--port", vb.port, "--firmware", str(fw), "--no-stub"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert bytes(chip.flash[:len(fw.read_bytes())]) == fw.read_bytes()  # at offset 0
    assert "Hash of data verified" in out.out  # esptool's own verification ran
    assert chip.resets == 1  # esptool reset the chip into the new firmware
    assert deployed == [(vb.port, "esp32s3-devkit")]
    assert "deploying camdiag" in out.out and "board rebooted" in out.out


@pytest.mark.parametrize("content,what", [(b"PK\x03\x04" + bytes(100), "starts with 0x50"),
                                          (b"", "starts with nothing")])
def test_flash_refuses_what_is_not_an_esp_image(tmp_path, content, what, fault_table):
    fw = tmp_path / "firmware.bin"
    fw.write_bytes(content)
    with pytest.raises(Exception) as e:
        flash.write("/dev/null", fw, "esp32s3-devkit")
    assert what in str(e.value) and "0xe9" in str(e.value)
    assert "\n" not in str(e.value)
    fault_table("command line", f"flash: a file that is not an ESP image ({what})",
                f"refused before touching the board: `{e.value}`")


def test_esptool_failures_are_one_line(tmp_path, monkeypatch, fault_table):
    fw = tmp_path / "fw.bin"
    fw.write_bytes(image(5000))
    chip = fake_s3()
    monkeypatch.setattr(flash, "esp_for", lambda port: chip)
    # esptool's own rule: the ESP32-S3 ROM loader cannot erase the whole flash (the stub can)
    with pytest.raises(Exception) as e:
        flash.write("fake", fw, "esp32s3-devkit", erase=True, quiet=True, stub=False)
    assert "does not support function erase_flash" in str(e.value)
    assert chip.ESP_CMDS["FLASH_DATA"] not in chip.ops  # nothing written after the refusal

    class Broken(type(chip)):
        def command(self, op=None, data=b"", chk=0, wait_response=True, timeout=3):
            if op == self.ESP_CMDS["SPI_FLASH_MD5"]:
                return 0, b"0" * 32 + b"\0\0\0\0"  # the chip holds something else
            return super().command(op, data, chk, wait_response, timeout)

    monkeypatch.setattr(flash, "esp_for", lambda port: Broken())
    with pytest.raises(Exception) as e:
        flash.write("fake", fw, "esp32s3-devkit", quiet=True, stub=False)
    msg = str(e.value)
    assert "flashing fake failed" in msg and "\n" not in msg
    fault_table("command line", "flash: the written data does not verify (MD5 differs)",
                f"exit 2: `camdiag: {msg}`")
