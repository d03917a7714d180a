// SPDX-License-Identifier: GPL-2.0
#include "log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace failover {

static std::string quoted(const std::string &v)
{
	if (!v.empty() && v.find_first_of(" \"=\\") == std::string::npos)
		return v;
	std::string q = "\"";
	for (char c : v) {
		if (c == '"' || c == '\\')
			q += '\\';
		q += c;
	}
	return q + '"';
}

void log(const char *level, const char *event, std::initializer_list<Field> fields)
{
	const auto now = std::chrono::system_clock::now();
	const std::time_t t = std::chrono::system_clock::to_time_t(now);
	const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
				now.time_since_epoch()).count() % 1000;
	char ts[32];
	std::tm tm;

	std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", gmtime_r(&t, &tm));
	std::string line = std::string("ts=") + ts + "." + std::to_string(1000 + ms).substr(1) +
			   "Z level=" + level + " event=" + event;
	for (const auto &[key, value] : fields)
		line += std::string(" ") + key + "=" + quoted(value);
	std::fprintf(stderr, "%s\n", line.c_str());
}

} // namespace failover
