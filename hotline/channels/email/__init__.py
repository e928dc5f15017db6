"""E-mail channel (12345 信箱): an IMAP mailbox polled into the intake, replies sent by SMTP."""
