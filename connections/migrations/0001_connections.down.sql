DROP TABLE IF EXISTS connections;
