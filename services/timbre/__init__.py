"""timbre: sound effect → keyboard / bass / guitar voice with the effect's envelope."""
