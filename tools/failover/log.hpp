// SPDX-License-Identifier: GPL-2.0
// Structured logs: one logfmt line per event on stderr (journald keeps it).
#pragma once

#include <initializer_list>
#include <string>
#include <utility>

namespace failover {

using Field = std::pair<const char *, std::string>;

void log(const char *level, const char *event, std::initializer_list<Field> fields = {});

} // namespace failover
