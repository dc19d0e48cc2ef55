package signals

// US section field tables. Every field is a 2-bit integer except the 6-bit
// Version (MspaVersion in usmd, usin, usky, usri), and "lists" are n
// consecutive 2-bit integers. Names and order are the IAB specifications'
// (Global-Privacy-Platform Sections/US-National and Sections/US-States/*),
// cross-checked with the field tables of the IAB's reference encoder
// (IABTechLab/iabgpp-es, src/encoder/segment/Us*CoreSegment);
// TestUSSectionTablesMatchSpec holds every layout against its table.
//
// Values of the opt-out fields: 0 not applicable, 1 opted out, 2 did not opt
// out. A section opts the visitor out when SaleOptOut, SharingOptOut or
// TargetedAdvertisingOptOut is 1, or when its GPC sub-section says true.

type fieldRole uint8

const (
	roleNone fieldRole = iota
	roleVersion
	roleOptOut // a 1 here is an opt-out of sale, sharing or targeted ads
)

type usField struct {
	name string
	n    uint8 // 0: a single value; >0: a list of n values
	bits uint8
	role fieldRole
}

type usSection struct {
	id      int
	name    string
	version uint64
	fields  []usField
	// gpc: the section may carry the GPC sub-section.
	gpc bool
	// sensitive > 0: the section's one sub-section is a Sensitive Data
	// Consents subsection of that many 2-bit SensitiveDataProcessing
	// values, with no SubsectionType field (usin, usky, usri), instead of
	// the GPC sub-section.
	sensitive uint8
}

func f2(name string) usField          { return usField{name: name, bits: 2} }
func list(name string, n int) usField { return usField{name: name, n: uint8(n), bits: 2} }
func optOut(name string) usField      { return usField{name: name, bits: 2, role: roleOptOut} }

var fVersion = usField{name: "Version", bits: 6, role: roleVersion}

var mspa3 = []usField{f2("MspaCoveredTransaction"), f2("MspaOptOutOptionMode"), f2("MspaServiceProviderMode")}

func cat(parts ...[]usField) []usField {
	var out []usField
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func fs(f ...usField) []usField { return f }

// usnatFields returns the usnat core segment for a version: v1 has 12
// sensitive-data and 2 known-child fields, v2 16 and 3.
func usnatFields(sensitive, child int) []usField {
	return cat(fs(fVersion,
		f2("SharingNotice"), f2("SaleOptOutNotice"), f2("SharingOptOutNotice"),
		f2("TargetedAdvertisingOptOutNotice"), f2("SensitiveDataProcessingOptOutNotice"),
		f2("SensitiveDataLimitUseNotice"),
		optOut("SaleOptOut"), optOut("SharingOptOut"), optOut("TargetedAdvertisingOptOut"),
		list("SensitiveDataProcessing", sensitive), list("KnownChildSensitiveDataConsents", child),
		f2("PersonalDataConsents")), mspa3)
}

// stateFields is the common shape of most state sections: three notices,
// two opt-outs, sensitive data, known child, an optional additional
// consent, then the MSPA fields.
func stateFields(firstNotice string, sensitive, child int, additional bool, extraNotice string) []usField {
	f := fs(fVersion, f2(firstNotice), f2("SaleOptOutNotice"), f2("TargetedAdvertisingOptOutNotice"))
	if extraNotice != "" {
		f = append(f, f2(extraNotice))
	}
	f = append(f, optOut("SaleOptOut"), optOut("TargetedAdvertisingOptOut"),
		list("SensitiveDataProcessing", sensitive))
	if child == 1 {
		f = append(f, f2("KnownChildSensitiveDataConsents"))
	} else {
		f = append(f, list("KnownChildSensitiveDataConsents", child))
	}
	if additional {
		f = append(f, f2("AdditionalDataProcessingConsent"))
	}
	return cat(f, mspa3)
}

// newStateFields is the core segment of the 2025 sections (usmd, usin,
// usky, usri; Global-Privacy-Platform Sections/US-States/{MD,IN,KY,RI}
// "Core Subsection", iabgpp-es segment/Us{Md,In,Ky,Ri}CoreSegment.ts):
// MspaVersion first (it takes the place of Version, and only 1 is known),
// the two MSPA fields, the notices and opt-outs, then the state's own
// consents: usmd AdditionalDataProcessingConsent only, the others
// KnownChildSensitiveDataConsents too. SensitiveDataProcessing is not in
// the core: usin, usky and usri carry it in the sub-section (usSection.
// sensitive), usmd carries GPC there.
//
// The specifications also draw a "Section Header" (SectionID 6, Version 6,
// SubSections Fibonacci range) before the core. No IAB encoder writes it
// (iabgpp-es, whose strings are the test vectors, starts with MspaVersion);
// a section that starts with it starts with its section id, 24-27, which
// is not MspaVersion 1: bad_version, an opt-out.
func newStateFields(knownChild bool) []usField {
	f := fs(usField{name: "MspaVersion", bits: 6, role: roleVersion},
		f2("MspaCoveredTransaction"), f2("MspaMode"),
		f2("ProcessingNotice"), f2("SaleOptOutNotice"), f2("TargetedAdvertisingOptOutNotice"),
		optOut("SaleOptOut"), optOut("TargetedAdvertisingOptOut"))
	if knownChild {
		f = append(f, f2("KnownChildSensitiveDataConsents"))
	}
	return append(f, f2("AdditionalDataProcessingConsent"))
}

// usSections are the US sections by GPP section id (Section Information.md
// and iabgpp-es src/encoder/section/Us*.ts for the ids).
var usSections = [...]usSection{
	{id: 7, name: "usnat", version: 1, fields: usnatFields(12, 2), gpc: true},
	{id: 7, name: "usnat", version: 2, fields: usnatFields(16, 3), gpc: true},
	{id: 8, name: "usca", version: 1, gpc: true, fields: cat(fs(fVersion,
		f2("SaleOptOutNotice"), f2("SharingOptOutNotice"), f2("SensitiveDataLimitUseNotice"),
		optOut("SaleOptOut"), optOut("SharingOptOut"),
		list("SensitiveDataProcessing", 9), list("KnownChildSensitiveDataConsents", 2),
		f2("PersonalDataConsents")), mspa3)},
	{id: 9, name: "usva", version: 1, fields: stateFields("SharingNotice", 8, 1, false, "")},
	{id: 10, name: "usco", version: 1, gpc: true, fields: stateFields("SharingNotice", 7, 1, false, "")},
	{id: 11, name: "usut", version: 1, fields: stateFields("SharingNotice", 8, 1, false, "SensitiveDataProcessingOptOutNotice")},
	{id: 12, name: "usct", version: 1, gpc: true, fields: stateFields("SharingNotice", 8, 3, false, "")},
	{id: 13, name: "usfl", version: 1, fields: stateFields("ProcessingNotice", 8, 3, true, "")},
	{id: 14, name: "usmt", version: 1, gpc: true, fields: stateFields("SharingNotice", 8, 3, true, "")},
	{id: 15, name: "usor", version: 1, gpc: true, fields: stateFields("ProcessingNotice", 11, 3, true, "")},
	{id: 16, name: "ustx", version: 1, gpc: true, fields: stateFields("ProcessingNotice", 8, 1, true, "")},
	{id: 17, name: "usde", version: 1, gpc: true, fields: stateFields("ProcessingNotice", 9, 5, true, "")},
	{id: 18, name: "usia", version: 1, gpc: true, fields: stateFields("ProcessingNotice", 8, 1, false, "SensitiveDataOptOutNotice")},
	{id: 19, name: "usne", version: 1, gpc: true, fields: stateFields("ProcessingNotice", 8, 1, true, "")},
	{id: 20, name: "usnh", version: 1, gpc: true, fields: stateFields("ProcessingNotice", 8, 3, true, "")},
	{id: 21, name: "usnj", version: 1, gpc: true, fields: stateFields("ProcessingNotice", 10, 5, true, "")},
	{id: 22, name: "ustn", version: 1, gpc: true, fields: stateFields("ProcessingNotice", 8, 1, true, "")},
	{id: 23, name: "usmn", version: 1, gpc: true, fields: stateFields("ProcessingNotice", 8, 1, true, "")},
	{id: 24, name: "usmd", version: 1, gpc: true, fields: newStateFields(false)},
	{id: 25, name: "usin", version: 1, sensitive: 8, fields: newStateFields(true)},
	{id: 26, name: "usky", version: 1, sensitive: 8, fields: newStateFields(true)},
	{id: 27, name: "usri", version: 1, sensitive: 8, fields: newStateFields(true)},
}

// Section ids with their API prefixes (GPP "Section Information").
const (
	sidTCFEUv2 = 2
	sidTCFCAv1 = 5
	sidUSPv1   = 6
	sidUSNat   = 7
	maxSID     = 63 // ids above this are not defined; we keep a uint64 set
)

// usSectionFor returns the table for a section id and version, or nil and
// whether the id is a US section at all.
func usSectionFor(id int, version uint64) (*usSection, bool) {
	known := false
	for i := range usSections {
		if usSections[i].id == id {
			known = true
			if usSections[i].version == version {
				return &usSections[i], true
			}
		}
	}
	return nil, known
}
