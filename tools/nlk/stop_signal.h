// SIGTERM and SIGINT as a request to stop cleanly, for the commands that run until told to (the
// maintenance daemons, the live device simulator): the first signal sets a flag the command
// polls; a second one ends the process at once (the default action), for a user who will not
// wait.
#pragma once

namespace nlk::cli {

void InstallStopHandlers();
bool StopRequested();
// The signal that asked to stop, 0 while none has.
int StopSignal();

}  // namespace nlk::cli
