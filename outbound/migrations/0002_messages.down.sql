DROP TABLE IF EXISTS message_consent;
DROP TABLE IF EXISTS message_senders;
DROP TABLE IF EXISTS messages;
