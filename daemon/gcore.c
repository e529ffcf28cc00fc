#include "gcore.h"
