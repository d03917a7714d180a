// SPDX-License-Identifier: GPL-2.0
// PF_KEY names SAs without their XFRM mark (af_key looks every SA up
// unmarked), so a notification or dump entry of a marked SA comes under
// the name of an unmarked twin, which may not exist or may be another SA.
// Forwarded, it would give a standby a phantom SA (which a takeover then
// counts failed, and which keeps a stand-down's Release from ever being
// complete) or one SA's numbers for another. PfkeyNames keeps, from the
// SAD (a dump, then NEWSA and DELSA events), which unmarked names marked
// SAs answer to; replay notifications under those names are not forwarded
// over PF_KEY as they are. The marked SAs themselves are fenced at takeover
// (takeover.hpp). An unmarked SA that shares its name with marked ones is
// read by that name instead (af_key looks SAs up with mark 0, which finds
// it and no twin whose mark value is not 0): resolvable() says when that
// holds. A twin of mark value 0 (a mask without its value bits) is one the
// kernel's own lookups, over netlink too, cannot tell from the unmarked
// SA: nothing under that name is forwarded, and such pairs are not
// supported (safailover(8)).
// Not covered: a notification read before the NEWSA event of its (new,
// marked) SA still goes out under the unmarked name.
#pragma once

#include <map>
#include <set>
#include <span>
#include <utility>

#include "frame.hpp"
#include "shadow_table.hpp"

namespace failover {

class PfkeyNames {
public:
	// The SAD as a dump of NEWSA messages shows it.
	void reset(std::span<const Bytes> newsas);
	// An SA the SAD gained (NEWSA, UPDSA) or lost (DELSA, hard expiry).
	void added(const replay::SaId &id);
	void deleted(const replay::SaId &id);
	// Whether @name (as PF_KEY gives it: unmarked) is that of a marked SA.
	bool ambiguous(const replay::SaId &name) const;
	// Whether a PF_KEY lookup of @name finds only an unmarked SA of that
	// name: no marked SA answers to it, or none has mark value 0 (those
	// match af_key's lookup with mark 0 as the unmarked SA does).
	bool resolvable(const replay::SaId &name) const;

private:
	// Unmarked name -> the marks of the SAs that answer to it.
	std::map<SaKey, std::set<std::pair<std::uint32_t, std::uint32_t>>> marked_;
};

} // namespace failover
