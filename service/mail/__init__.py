"""Customer e-mail: templates, sealing, the SMTP sender, the outbox worker, the dev mailbox."""
