"""Hardware behind factories: gpiozero LEDs and buttons, pyserial GSM modem."""
