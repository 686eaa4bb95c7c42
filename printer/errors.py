"""The printer subsystem's one exception tree; every failure the node replies with maps here.

    PrinterError                   base: anything the printer core raises
    ├── TicketError                the ticket itself is unusable (BAD_TICKET): never retried
    ├── PrinterConfigError         bad printer / ticket configuration (raised at start-up)
    └── PrinterUnavailableError    the printer cannot print now; the ticket is kept
        ├── PrinterOfflineError    no connection, timeout, reset mid-job (PRINTER_OFFLINE)
        └── PaperOutError          the paper sensor reports the roll is empty (PAPER_OUT)

Third-party errors (OSError, python-escpos, pyserial, pyusb) are mapped onto these with
`raise ... from`. Callers branch on the class or on `error_code`, never on the message.
"""

from __future__ import annotations


class PrinterError(Exception):
    """Base of every printer-core error. `error_code` is the stable code of service replies."""

    error_code = "PRINTER_ERROR"


class TicketError(PrinterError, ValueError):
    """The ticket cannot be printed as given (empty number, unknown service, absurd text)."""

    error_code = "BAD_TICKET"


class PrinterConfigError(PrinterError):
    """The printer or ticket configuration is invalid (unknown backend, profile, font, width)."""

    error_code = "CONFIG_ERROR"


class PrinterUnavailableError(PrinterError):
    """The printer cannot print right now; the ticket is worth keeping for later."""

    error_code = "PRINTER_OFFLINE"


class PrinterOfflineError(PrinterUnavailableError):
    """No connection to the printer, or it stopped answering (power, cable, reboot)."""

    error_code = "PRINTER_OFFLINE"


class PaperOutError(PrinterUnavailableError):
    """The roll is empty: nothing can be printed until staff load paper."""

    error_code = "PAPER_OUT"
