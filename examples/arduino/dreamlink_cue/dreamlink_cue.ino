// dreamlink_cue.ino — light and vibration cues for dreamlink (serial cue protocol, version 1).
//
// Host -> device, one ASCII line per command, '\n'-terminated, 115200 baud 8N1:
//   ?                 identify        -> "OK DREAMLINK-CUE 1 LV"
//   L <level> <ms>    light pulse     -> "OK"  (level 0-255 PWM, ms 1-10000; returns at once)
//   V <level> <ms>    vibration pulse -> "OK"
//   X                 abort: all off  -> "OK"
// Anything else (or out of range)     -> "ERR <reason>"
//
// Pulses are timed here with millis(), so the host only sends each pulse's onset. A new L (or V)
// replaces the running light (or vibration) pulse; level 0 switches it off. MAX_LEVEL is this
// device's own hard limit: it refuses anything brighter/stronger, whatever the host asks.
//
// Wiring (Arduino Uno/Nano; see examples/arduino/README.md):
//   pin 9  -> 220 ohm -> LED anode; LED cathode -> GND      (a red LED behind a sleep mask)
//   pin 10 -> 1 kohm -> base of an NPN (2N2222) / gate of a logic-level MOSFET;
//            motor between +5 V and collector/drain, flyback diode (1N4148) across the motor
//   Both pins must be PWM-capable (Uno/Nano: 3, 5, 6, 9, 10, 11). ESP32: use analogWrite() on any
//   output pin with core >= 2.0.

const uint8_t LIGHT_PIN = 9;
const uint8_t VIBRATION_PIN = 10;
const uint8_t MAX_LEVEL = 255;        // lower this to cap the hardware itself (e.g. 128)
const unsigned long MAX_MS = 10000UL;
const uint8_t LINE_MAX = 32;

struct Pulse {
  uint8_t pin;
  bool on;
  unsigned long started;
  unsigned long length;
};

Pulse light = {LIGHT_PIN, false, 0, 0};
Pulse vibration = {VIBRATION_PIN, false, 0, 0};
char line[LINE_MAX + 1];
uint8_t lineLen = 0;
bool overflow = false;

void pulseOff(Pulse &p) {
  analogWrite(p.pin, 0);
  p.on = false;
}

void pulseOn(Pulse &p, uint8_t level, unsigned long ms) {
  if (level == 0) {
    pulseOff(p);
    return;
  }
  analogWrite(p.pin, level);
  p.on = true;
  p.started = millis();
  p.length = ms;
}

void service(Pulse &p) {
  // unsigned subtraction is correct across the millis() wrap-around (~49 days)
  if (p.on && (unsigned long)(millis() - p.started) >= p.length) pulseOff(p);
}

// Parse "<uint> <uint>" after the command letter; returns false on malformed input.
bool parseTwo(const char *s, long &a, long &b) {
  char *end;
  if (*s != ' ') return false;
  a = strtol(s + 1, &end, 10);
  if (end == s + 1 || *end != ' ') return false;
  const char *t = end + 1;
  b = strtol(t, &end, 10);
  if (end == t || *end != '\0') return false;
  return true;
}

void handle(const char *cmd) {
  if (strcmp(cmd, "?") == 0) {
    Serial.println(F("OK DREAMLINK-CUE 1 LV"));
    return;
  }
  if (strcmp(cmd, "X") == 0) {
    pulseOff(light);
    pulseOff(vibration);
    Serial.println(F("OK"));
    return;
  }
  if (cmd[0] == 'L' || cmd[0] == 'V') {
    long level, ms;
    if (!parseTwo(cmd + 1, level, ms)) {
      Serial.println(F("ERR bad command"));
      return;
    }
    if (level < 0 || level > 255) {
      Serial.println(F("ERR level out of range"));
      return;
    }
    if (level > MAX_LEVEL) {
      Serial.println(F("ERR level above device limit"));
      return;
    }
    if (ms < 1 || (unsigned long)ms > MAX_MS) {
      Serial.println(F("ERR duration out of range"));
      return;
    }
    pulseOn(cmd[0] == 'L' ? light : vibration, (uint8_t)level, (unsigned long)ms);
    Serial.println(F("OK"));
    return;
  }
  Serial.println(F("ERR bad command"));
}

void setup() {
  pinMode(LIGHT_PIN, OUTPUT);
  pinMode(VIBRATION_PIN, OUTPUT);
  pulseOff(light);
  pulseOff(vibration);
  Serial.begin(115200);
}

void loop() {
  while (Serial.available() > 0) {
    char c = (char)Serial.read();
    if (c == '\r') continue;
    if (c == '\n') {
      line[lineLen] = '\0';
      if (overflow) {
        Serial.println(F("ERR line too long"));
      } else if (lineLen > 0) {
        handle(line);
      }
      lineLen = 0;
      overflow = false;
    } else if (lineLen < LINE_MAX) {
      line[lineLen++] = c;
    } else {
      overflow = true;
    }
  }
  service(light);
  service(vibration);
}
