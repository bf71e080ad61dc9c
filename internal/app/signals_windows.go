package app

import "os"

// forwardSignals are passed on to the command `run` starts. Windows delivers
// Ctrl-C to the whole console, the command included; catching it keeps git-vsync
// alive until the command has ended.
var forwardSignals = []os.Signal{os.Interrupt}
