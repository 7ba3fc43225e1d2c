"""Message codes between dreamers and the world (Morse, eye and EMG codes) and their relay."""
