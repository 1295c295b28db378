"""One error type for the host tools: printed as `camdiag: message`, with an exit code."""

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_ERROR = 2


class CamdiagError(Exception):
    """A problem the user can act on. `str()` is one line, no traceback."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, exit_code: int = EXIT_ERROR):
        super().__init__(message)
        self.exit_code = exit_code


class LinkError(CamdiagError):
    """The serial link failed: port missing, board gone, garbage, timeout."""


class DeviceError(CamdiagError):
    """The device answered with an error result line."""


class FirmwareMissing(CamdiagError):
    """The board runs MicroPython but not camdiag."""


class VersionTooOld(CamdiagError):
    """The board runs a MicroPython older than camdiag's floor (or other firmware)."""
