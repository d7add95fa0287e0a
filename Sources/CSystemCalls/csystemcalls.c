// The functions are inline in include/csystemcalls.h; this file gives the target a translation unit.
#include "csystemcalls.h"
