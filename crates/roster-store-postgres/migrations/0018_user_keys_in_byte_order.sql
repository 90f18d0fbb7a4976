-- Users' key columns compare in byte order (COLLATE "C") as their own collation, so one
-- index of each serves both what it keeps unique and SCIM's comparisons, prefix ranges and
-- sorting, which compare in byte order (0012). Each of the three had a second index of the
-- same keys in the database's collation; every user written paid for both. Equality is
-- the same in both collations (both deterministic), so the unique indexes keep exactly the
-- same users apart; nothing sorts by these columns in the database's collation.
-- The column change rebuilds the three indexes but not the table.
DROP INDEX users_user_name_c;
DROP INDEX users_email_key_c;
DROP INDEX users_external_id_c;
ALTER TABLE users
    ALTER COLUMN email_key TYPE TEXT COLLATE "C",
    ALTER COLUMN user_name_key TYPE TEXT COLLATE "C",
    ALTER COLUMN external_id TYPE TEXT COLLATE "C";
