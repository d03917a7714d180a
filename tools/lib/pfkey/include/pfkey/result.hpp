// SPDX-License-Identifier: GPL-2.0
// Errors as values: an errno and what was being done when it happened.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace pfkey {

struct Error {
	int code = 0;		// an errno value
	std::string context;	// what failed, for a person to read

	// "context: strerror(code)"
	std::string message() const;
	bool operator==(const Error &) const = default;
};

template <class T>
class [[nodiscard]] Result {
public:
	Result(T value) : v_(std::move(value)) {}
	Result(Error error) : v_(std::move(error)) {}

	bool ok() const { return v_.index() == 0; }
	explicit operator bool() const { return ok(); }
	T &value() { return std::get<0>(v_); }
	const T &value() const { return std::get<0>(v_); }
	T &operator*() { return value(); }
	const T &operator*() const { return value(); }
	T *operator->() { return &value(); }
	const T *operator->() const { return &value(); }
	const Error &error() const { return std::get<1>(v_); }

private:
	std::variant<T, Error> v_;
};

} // namespace pfkey
