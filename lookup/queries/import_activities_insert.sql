-- Adds the imported members' activities (staged, unique per member and id).
INSERT INTO activities (member_id, id, kind, summary, place,
                        starts_at, starts_offset, ends_at, ends_offset, status, reference)
SELECT member_id, id, kind, summary, place,
       starts_at, starts_offset, ends_at, ends_offset, status, reference
FROM import_activities
