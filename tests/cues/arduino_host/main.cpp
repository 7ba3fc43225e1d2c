// Builds dreamlink_cue.ino for the host: g++ -std=c++17 -I. main.cpp -o sketch
#include "Arduino.h"
#include "../../../examples/arduino/dreamlink_cue/dreamlink_cue.ino"

int main() {
  setup();
  for (;;) loop();
}
