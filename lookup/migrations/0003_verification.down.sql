DROP TABLE verification_attempts;
DROP TABLE member_pins;
