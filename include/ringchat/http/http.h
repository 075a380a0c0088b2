#pragma once
// The http module in one include: request parsing, targets and queries,
// responses.
#include "ringchat/http/request.h"         // IWYU pragma: export
#include "ringchat/http/request_parser.h"  // IWYU pragma: export
#include "ringchat/http/response.h"        // IWYU pragma: export
#include "ringchat/http/uri.h"             // IWYU pragma: export
