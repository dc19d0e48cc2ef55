// Package signals turns a request into one consent decision (a Consent): did
// the visitor opt out of the sale or sharing of their data, which categories
// are therefore denied, and which signals said so.
//
// A Reader reads a request against a Policy: the few parts of a site's
// configuration that change how a signal reads or what it denies (the
// rules.Site fields named below), made once per site and rule set
// (PolicyOf), so that this package never looks at a whole site.
//
// # Sources
//
// Each is read from the request head; cookie values are parsed as sent.
//
//   - Sec-GPC (Global Privacy Control, W3C): the value must be exactly "1"
//     after optional whitespace; any header-name case; several headers count
//     as "1" when one is. Source GPC.
//   - DNT: 1, only when the site enables it (rules.Site.DNT). Source DNT.
//   - The site's own opt-out cookie (rules.Site.OptOutCookie and
//     OptOutValue), e.g. consentgate_optout=1. Source OptOutCookie.
//   - IAB US Privacy string, cookie usprivacy or us_privacy: four characters,
//     version '1', explicit notice, opt-out-of-sale, LSPA, each Y, N or '-'
//     (case-sensitive: "1y--" is malformed, an opt-out with bad_value).
//     Opted out when the third is 'Y'. Example: usprivacy=1YYN. Source USP.
//   - IAB GPP string, cookie __gpp, with __gpp_sid listing the applicable
//     section ids ("7" or "2,7"; "-1" none). Layout header~section~…, each
//     part base64url; a section's sub-sections follow '.'. The header is
//     Type 6 bits (= 3), Version 6 bits (= 1) and the section ids as a
//     Fibonacci-coded range. Example: __gpp=DBABLA~BVVqAAEABCA.YA is one
//     section, id 7 (usnat), with a GPC sub-section saying true. Source GPP.
//     Decoded sections: every US section (usnat v1 and v2, usca, usva, usco,
//     usut, usct, usfl, usmt, usor, ustx, usde, usia, usne, usnh, usnj, ustn,
//     usmn, usmd, usin, usky, usri; ids 7-27) by its field table, the GPC
//     sub-section (for usin, usky and usri the sub-section after '.' is
//     SensitiveDataProcessing, eight 2-bit values, read and not decisive;
//     their core starts with MspaVersion, which must be 1), uspv1 (id 6,
//     the plain US Privacy string), tcfeuv2
//     (id 2, a TC string) and tcfcav1 (id 5, TCF Canada, see below). A US
//     section opts out when SaleOptOut, SharingOptOut or
//     TargetedAdvertisingOptOut is 1 or its GPC sub-section is true; uspv1
//     when its third character is 'Y'. Opt-outs count from every section
//     present; the tcfeuv2 section grants or denies only when __gpp_sid
//     lists id 2 (or there is no __gpp_sid), tcfcav1 only when it lists id
//     5. A __gpp starting with 'C' is a bare TC string. A header that lists
//     no section (__gpp=DBAA, what CMPs write where no section applies) is
//     no signal; a '~' part after it, or after the last listed section, is
//     bad_header. Unknown ids are listed but decide nothing. A section that does not parse makes the
//     whole GPP string fail (an opt-out, below).
//   - TCF Canada, GPP section tcfcav1: Version 1 (any other is
//     bad_version), Created, LastUpdated, CmpId, CmpVersion, ConsentScreen,
//     ConsentLanguage, VendorListVersion, TcfPolicyVersion,
//     UseNonStandardStacks, SpecialFeatureExpressConsent (12 bits),
//     PurposesExpressConsent and PurposesImpliedConsent (24 bits each),
//     VendorExpressConsent and VendorImpliedConsent (MaxVendorId, then a bit
//     field or an int range, as the IAB encoders write them),
//     PubRestrictions (TCF CA v1.1; absent in v1.0 strings), optional
//     DisclosedVendors and publisher purposes segments. Example:
//     __gpp=DBABDA~BPXuQIAPXuQIAAfKABENB-CgAAAAAAAAAAAAAAAA. It decides
//     exactly like a TC string: PurposesExpressConsent is read as
//     PurposesConsent (same purpose ids, same category table, purpose 1
//     required; the section specification says purpose 1 "is not used in
//     TCF Canada", so a string that leaves it 0 grants nothing and denies
//     every category: fail closed), VendorExpressConsent as the vendor
//     consents for TCFVendors. Implied consent is TCF Canada's counterpart
//     of legitimate interest and, like it, grants nothing: a purpose with
//     implied consent only counts as not consented. Special features,
//     restrictions and publisher purposes decide nothing.
//   - IAB TCF v2 TC string, cookie euconsent-v2: version 2, CMP id, purposes
//     consented, special features, vendor consents (bit field or ranges),
//     publisher restrictions, optional segments after '.', each checked
//     against its layout: DisclosedVendors and AllowedVendors as vendor
//     sections (a bit field shorter than its MaxVendorId, or a range out of
//     bounds, fails), PublisherTC by its lengths. A segment that fails
//     fails the whole string, so a core granting every purpose with a
//     truncated segment is an opt-out, not consent. Example:
//     euconsent-v2=CPSG_8APSG_8AAAAAAENAACgAAAAAAAAAAAAAAAAAAAA.YAAAAAAAAAAA.
//     Source TCF. Purposes map to categories (a category needs purpose 1 and
//     all of its purposes; otherwise the string denies it):
//     functional 1,5,6; analytics 1,7,8,9; advertising 1,2,3,4; social
//     1,2,3,4. Purposes 10 and 11 and legitimate interest grant nothing. If
//     the site lists TCFVendors, a listed vendor without consent keeps
//     advertising denied and sets its bit in Consent.TCFVendorsDenied. The
//     same applies to a tcfcav1 or tcfeuv2 section of a GPP string (source
//     GPP); with both, a category is denied when either denies it.
//   - CMP cookies, source CMP:
//     OneTrust OptanonConsent, a URL query string:
//     isGpcEnabled=0&browserGpcFlag=0&groups=C0001%3A1%2CC0002%3A0%2CC0004%3A0;
//     groups map through rules.Site.OneTrustGroups (default C0001 necessary,
//     C0002 analytics, C0003 functional, C0004 advertising, C0005 social);
//     :1 grants, :0 denies; isGpcEnabled=1 or browserGpcFlag=1 is an opt-out.
//     Cookiebot CookieConsent, a URL-encoded object literal:
//     {stamp:'…',necessary:true,preferences:false,statistics:true,marketing:false,method:'explicit',ver:1};
//     preferences → functional, statistics → analytics, marketing →
//     advertising and social; "-1" (or stamp:'-1') means consent is not
//     required there and decides nothing.
//     CookieYes cookieyes-consent:
//     consentid:…,consent:yes,action:yes,necessary:yes,functional:no,analytics:yes,performance:no,advertisement:no,other:no;
//     functional, analytics and performance → analytics, advertisement →
//     advertising and social; "no" denies; "yes" grants only after action:yes.
//     Complianz, one cookie per category: cmplz_functional or
//     cmplz_preferences → functional, cmplz_statistics → analytics,
//     cmplz_marketing → advertising and social; allow or deny.
//     Didomi didomi_token: base64 JSON
//     {"user_id":"…","purposes":{"enabled":["cookies","measure_ad_performance"],"disabled":["select_basic_ads"]},…};
//     the TCF purpose names map like a TC string's purposes; custom purposes
//     are ignored.
//     Klaro klaro: URL-encoded JSON {"google-analytics":true,"facebook":false};
//     services are site-defined names, so only "all declined" (deny every
//     non-necessary category) and "all accepted" (grant them) decide.
//   - Region: a country header set by the front end (rules.Site.CountryHeader,
//     e.g. CF-IPCountry) or a MaxMind database (rules.Site.GeoIPDatabase, with
//     the client address in Input; the proxy passes the TCP peer, or behind a
//     trusted proxy the rightmost untrusted X-Forwarded-For entry). The header
//     is believed when Input.Trusted (it came through a trusted proxy); from
//     any other peer only when it names an opt-in country, since the visitor
//     wrote it: otherwise GeoIP decides, or the region is unknown. A country in
//     rules.Site.OptInCountries selects opt-in mode: everything but necessary
//     is denied until a consent string or CMP cookie grants it (source
//     Region). Elsewhere, and when the country is unknown ("XX", no header,
//     no database), opt-out mode. A header value may also be an ISO 3166-2
//     subdivision ("US-TX"): its country counts. A GeoIP lookup takes no
//     lock (the open databases are an immutable map behind one atomic
//     pointer); after a reload, RetainGeoIP closes the databases the new
//     rule set no longer names once the old set's grace period is over.
//   - US state, when the site names a trusted header (rules.Site.
//     StateHeader): "US-TX", or "TX" when the country is known to be US
//     (region.go, parseState). A state with a policy pack (laws.yaml, Laws:
//     the 20 state laws that have a GPP section) makes its law govern the
//     GPP decision, below; Explain names the law in Explanation.Law.
//   - Registry: the shared opt-out registry's answer for the visitor's
//     account, passed in by the caller (Input.Registry; Read does no I/O).
//     An account that opted out on any device is an opt-out here ("do not
//     sell or share"); an account without an opt-out, or an answer the
//     registry could not give in time, decides nothing. Explain prints
//     {"account": true, "answer": "opted_out"} under signals.registry,
//     never the account id or its hash. Source Registry.
//   - The consent mirror's cookie, consentgate_mirror (MirrorCookie), read
//     only on a site with rules.Site.Mirror: what the proxy's mirror
//     script read in the page from a consent tool that keeps its choice
//     there (__tcfapi, __gpp, __uspapi, localStorage). Value
//     1.O.DENIED.FROM, e.g. 1.1.ads.tu: O "1" is an opt-out of sale or
//     sharing, DENIED ("-" or letters f, a, d, s) the categories denied,
//     FROM the letters of where it was read. It only ever denies, never
//     grants (anyone can set it); anything off that grammar fails closed.
//     Parsed without allocation and uncached. Source Mirror.
//
// # Decision
//
// A GPP string opts out when any of its US sections does; with the
// visitor's state law known, when the law's own section does (or usnat,
// where the string has no section of the state; or, with neither, any
// section). A true GPC sub-section in any section and an uspv1 opt-out
// count either way, and so do Sec-GPC and every other source: the state
// never weakens GPC, whether or not its law requires honouring it (Explain
// says which: "required" or "policy").
//
// Denied = (in opt-in mode: every non-necessary category not granted) ∪
// categories a signal denied ∪ (site.Deny when any "do not sell or share"
// signal opted out: GPC, DNT, the opt-out cookie, USP, a GPP opt-out,
// OneTrust's GPC flag, the registry, the mirror's opt-out, or a signal
// that failed; Consent.DoNotSell says so). Any opt-out
// wins over any consent; grants matter only in opt-in mode. Necessary is
// never denied.
//
// Fail closed: a consent string that cannot be parsed (bad base64, wrong
// version, truncated, absurd lengths, longer than MaxSignalLen, the same
// cookie twice with different values) counts as an opt-out for what it
// covers, never as consent. It sets its source in Consent.Errors, a Reason
// in Consent.Reasons (ReasonNames is the label set) and, in Explain, one
// message per failure such as "gpp: bad base64 in section 7".
//
// # Propagation
//
// What the proxy tells the vendors that stay on an opted-out visitor's
// page (rules.Site.Propagate) is built here, so that it is read back by
// the same decoders: PropagateUSP and PropagateGPP give the usprivacy,
// __gpp and __gpp_sid values to write given what the visitor holds, never
// weaker than it (USPOptOut "1YYN"; GPPOptOut and GPPOptOutGPC, a header
// listing usnat and a usnat v2 section that opts out of sale, sharing and
// targeted advertising, its GPC sub-section saying whether GPC was a
// source; a string the visitor holds is spliced, not replaced);
// PropagatedUSNat gives the section as the GPP CMP API represents it;
// IsPropagated says whether a value is one the proxy writes. The encoder
// reproduces the IAB reference encoder's vectors (propagate_test.go).
//
// # Performance
//
// Read allocates nothing for a request without consent cookies or whose
// consent strings are cached: decoded GPP, TC and CMP strings are kept in a
// ristretto cache keyed by the raw cookie bytes (cost: their length), so a
// repeat visitor costs a lookup (CacheMetrics counts hits and misses).
// Explain bypasses the cache and allocates.
package signals
