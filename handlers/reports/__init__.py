"""Files the office asks for: the .xlsx workbook (/export) and the PNG charts (/chart)."""


class ReportError(Exception):
    """A report file cannot be made (a missing font, an unwritable folder); the message says which."""
