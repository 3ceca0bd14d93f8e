#include "pgwire/system_catalog.h"

#include <arrow/type.h>

#include <algorithm>
#include <set>

#include "pgwire/sql_state.h"

namespace nlk::pgwire {
namespace {

constexpr const char* kPgCatalog = "pg_catalog";
constexpr const char* kInformationSchema = "information_schema";
// OIDs of the catalog's own relations, the served schemas and the served tables start here
// (PostgreSQL's first OID for user objects is 16384).
constexpr int64_t kFirstSystemRelationOid = 12000;
constexpr int64_t kFirstUserOid = 16384;
// The session's own role when it is not the owner.
constexpr int64_t kSessionRoleOid = 16383;
constexpr int64_t kDatabaseOid = 16382;
constexpr int64_t kHeapAccessMethodOid = 2;
constexpr int64_t kDefaultTablespaceOid = 1663;
constexpr int32_t kUtf8Encoding = 6;

// information_schema's domains, by their base types.
constexpr int32_t kIdentifier = kNameOid;        // sql_identifier
constexpr int32_t kCharacterData = kVarcharOid;  // character_data, yes_or_no
constexpr int32_t kCardinal = kInt4Oid;          // cardinal_number

struct Definition {
  const char* schema;
  const char* name;
  char kind;
  std::vector<CatalogColumn> columns;
};

// The relations a client may read, with PostgreSQL 15's columns (those clients use).
const std::vector<Definition>& Definitions() {
  static const std::vector<Definition> kDefinitions = {
      {kPgCatalog,
       "pg_namespace",
       'r',
       {{"oid", kOidOid},
        {"nspname", kNameOid},
        {"nspowner", kOidOid},
        {"nspacl", kAclItemArrayOid}}},
      {kPgCatalog,
       "pg_class",
       'r',
       {{"oid", kOidOid},
        {"relname", kNameOid},
        {"relnamespace", kOidOid},
        {"reltype", kOidOid},
        {"reloftype", kOidOid},
        {"relowner", kOidOid},
        {"relam", kOidOid},
        {"relfilenode", kOidOid},
        {"reltablespace", kOidOid},
        {"relpages", kInt4Oid},
        {"reltuples", kFloat4Oid},
        {"relallvisible", kInt4Oid},
        {"reltoastrelid", kOidOid},
        {"relhasindex", kBoolOid},
        {"relisshared", kBoolOid},
        {"relpersistence", kCharOid},
        {"relkind", kCharOid},
        {"relnatts", kInt2Oid},
        {"relchecks", kInt2Oid},
        {"relhasrules", kBoolOid},
        {"relhastriggers", kBoolOid},
        {"relhassubclass", kBoolOid},
        {"relrowsecurity", kBoolOid},
        {"relforcerowsecurity", kBoolOid},
        {"relispopulated", kBoolOid},
        {"relreplident", kCharOid},
        {"relispartition", kBoolOid},
        {"relrewrite", kOidOid},
        {"relfrozenxid", kInt4Oid},
        {"relminmxid", kInt4Oid},
        {"relacl", kAclItemArrayOid},
        {"reloptions", kTextArrayOid},
        {"relpartbound", kTextOid}}},
      {kPgCatalog,
       "pg_attribute",
       'r',
       {{"attrelid", kOidOid},
        {"attname", kNameOid},
        {"atttypid", kOidOid},
        {"attstattarget", kInt4Oid},
        {"attlen", kInt2Oid},
        {"attnum", kInt2Oid},
        {"attndims", kInt4Oid},
        {"attcacheoff", kInt4Oid},
        {"atttypmod", kInt4Oid},
        {"attbyval", kBoolOid},
        {"attalign", kCharOid},
        {"attstorage", kCharOid},
        {"attcompression", kCharOid},
        {"attnotnull", kBoolOid},
        {"atthasdef", kBoolOid},
        {"atthasmissing", kBoolOid},
        {"attidentity", kCharOid},
        {"attgenerated", kCharOid},
        {"attisdropped", kBoolOid},
        {"attislocal", kBoolOid},
        {"attinhcount", kInt4Oid},
        {"attcollation", kOidOid},
        {"attacl", kAclItemArrayOid},
        {"attoptions", kTextArrayOid},
        {"attfdwoptions", kTextArrayOid},
        {"attmissingval", kTextOid}}},
      {kPgCatalog,
       "pg_type",
       'r',
       {{"oid", kOidOid},
        {"typname", kNameOid},
        {"typnamespace", kOidOid},
        {"typowner", kOidOid},
        {"typlen", kInt2Oid},
        {"typbyval", kBoolOid},
        {"typtype", kCharOid},
        {"typcategory", kCharOid},
        {"typispreferred", kBoolOid},
        {"typisdefined", kBoolOid},
        {"typdelim", kCharOid},
        {"typrelid", kOidOid},
        {"typsubscript", kRegProcOid},
        {"typelem", kOidOid},
        {"typarray", kOidOid},
        {"typinput", kRegProcOid},
        {"typoutput", kRegProcOid},
        {"typreceive", kRegProcOid},
        {"typsend", kRegProcOid},
        {"typmodin", kRegProcOid},
        {"typmodout", kRegProcOid},
        {"typanalyze", kRegProcOid},
        {"typalign", kCharOid},
        {"typstorage", kCharOid},
        {"typnotnull", kBoolOid},
        {"typbasetype", kOidOid},
        {"typtypmod", kInt4Oid},
        {"typndims", kInt4Oid},
        {"typcollation", kOidOid},
        {"typdefaultbin", kTextOid},
        {"typdefault", kTextOid},
        {"typacl", kAclItemArrayOid}}},
      {kPgCatalog,
       "pg_database",
       'r',
       {{"oid", kOidOid},
        {"datname", kNameOid},
        {"datdba", kOidOid},
        {"encoding", kInt4Oid},
        {"datlocprovider", kCharOid},
        {"datistemplate", kBoolOid},
        {"datallowconn", kBoolOid},
        {"datconnlimit", kInt4Oid},
        {"datfrozenxid", kInt4Oid},
        {"datminmxid", kInt4Oid},
        {"dattablespace", kOidOid},
        {"datcollate", kTextOid},
        {"datctype", kTextOid},
        {"daticulocale", kTextOid},
        {"datcollversion", kTextOid},
        {"datacl", kAclItemArrayOid}}},
      {kPgCatalog,
       "pg_roles",
       'v',
       {{"rolname", kNameOid},
        {"rolsuper", kBoolOid},
        {"rolinherit", kBoolOid},
        {"rolcreaterole", kBoolOid},
        {"rolcreatedb", kBoolOid},
        {"rolcanlogin", kBoolOid},
        {"rolreplication", kBoolOid},
        {"rolconnlimit", kInt4Oid},
        {"rolpassword", kTextOid},
        {"rolvaliduntil", kTimestamptzOid},
        {"rolbypassrls", kBoolOid},
        {"rolconfig", kTextArrayOid},
        {"oid", kOidOid}}},
      {kPgCatalog,
       "pg_user",
       'v',
       {{"usename", kNameOid},
        {"usesysid", kOidOid},
        {"usecreatedb", kBoolOid},
        {"usesuper", kBoolOid},
        {"userepl", kBoolOid},
        {"usebypassrls", kBoolOid},
        {"passwd", kTextOid},
        {"valuntil", kTimestamptzOid},
        {"useconfig", kTextArrayOid}}},
      {kPgCatalog,
       "pg_auth_members",
       'r',
       {{"roleid", kOidOid},
        {"member", kOidOid},
        {"grantor", kOidOid},
        {"admin_option", kBoolOid}}},
      {kPgCatalog,
       "pg_am",
       'r',
       {{"oid", kOidOid}, {"amname", kNameOid}, {"amhandler", kRegProcOid}, {"amtype", kCharOid}}},
      {kPgCatalog,
       "pg_tablespace",
       'r',
       {{"oid", kOidOid},
        {"spcname", kNameOid},
        {"spcowner", kOidOid},
        {"spcacl", kAclItemArrayOid},
        {"spcoptions", kTextArrayOid}}},
      {kPgCatalog,
       "pg_settings",
       'v',
       {{"name", kTextOid},
        {"setting", kTextOid},
        {"unit", kTextOid},
        {"category", kTextOid},
        {"short_desc", kTextOid},
        {"extra_desc", kTextOid},
        {"context", kTextOid},
        {"vartype", kTextOid},
        {"source", kTextOid},
        {"min_val", kTextOid},
        {"max_val", kTextOid},
        {"enumvals", kTextArrayOid},
        {"boot_val", kTextOid},
        {"reset_val", kTextOid},
        {"sourcefile", kTextOid},
        {"sourceline", kInt4Oid},
        {"pending_restart", kBoolOid}}},
      {kPgCatalog,
       "pg_collation",
       'r',
       {{"oid", kOidOid},
        {"collname", kNameOid},
        {"collnamespace", kOidOid},
        {"collowner", kOidOid},
        {"collprovider", kCharOid},
        {"collisdeterministic", kBoolOid},
        {"collencoding", kInt4Oid},
        {"collcollate", kTextOid},
        {"collctype", kTextOid},
        {"colliculocale", kTextOid},
        {"collversion", kTextOid}}},
      {kPgCatalog,
       "pg_tables",
       'v',
       {{"schemaname", kNameOid},
        {"tablename", kNameOid},
        {"tableowner", kNameOid},
        {"tablespace", kNameOid},
        {"hasindexes", kBoolOid},
        {"hasrules", kBoolOid},
        {"hastriggers", kBoolOid},
        {"rowsecurity", kBoolOid}}},
      {kPgCatalog,
       "pg_views",
       'v',
       {{"schemaname", kNameOid},
        {"viewname", kNameOid},
        {"viewowner", kNameOid},
        {"definition", kTextOid}}},
      {kPgCatalog,
       "pg_matviews",
       'v',
       {{"schemaname", kNameOid},
        {"matviewname", kNameOid},
        {"matviewowner", kNameOid},
        {"tablespace", kNameOid},
        {"hasindexes", kBoolOid},
        {"ispopulated", kBoolOid},
        {"definition", kTextOid}}},
      {kPgCatalog,
       "pg_indexes",
       'v',
       {{"schemaname", kNameOid},
        {"tablename", kNameOid},
        {"indexname", kNameOid},
        {"tablespace", kNameOid},
        {"indexdef", kTextOid}}},
      {kPgCatalog,
       "pg_description",
       'r',
       {{"objoid", kOidOid},
        {"classoid", kOidOid},
        {"objsubid", kInt4Oid},
        {"description", kTextOid}}},
      {kPgCatalog,
       "pg_shdescription",
       'r',
       {{"objoid", kOidOid}, {"classoid", kOidOid}, {"description", kTextOid}}},
      {kPgCatalog,
       "pg_proc",
       'r',
       {{"oid", kOidOid},
        {"proname", kNameOid},
        {"pronamespace", kOidOid},
        {"proowner", kOidOid},
        {"prolang", kOidOid},
        {"procost", kFloat4Oid},
        {"prorows", kFloat4Oid},
        {"provariadic", kOidOid},
        {"prosupport", kRegProcOid},
        {"prokind", kCharOid},
        {"prosecdef", kBoolOid},
        {"proleakproof", kBoolOid},
        {"proisstrict", kBoolOid},
        {"proretset", kBoolOid},
        {"provolatile", kCharOid},
        {"proparallel", kCharOid},
        {"pronargs", kInt2Oid},
        {"pronargdefaults", kInt2Oid},
        {"prorettype", kOidOid},
        {"proargtypes", kOidVectorOid},
        {"proallargtypes", kOidArrayOid},
        {"proargmodes", kCharArrayOid},
        {"proargnames", kTextArrayOid},
        {"proargdefaults", kTextOid},
        {"protrftypes", kOidArrayOid},
        {"prosrc", kTextOid},
        {"probin", kTextOid},
        {"prosqlbody", kTextOid},
        {"proconfig", kTextArrayOid},
        {"proacl", kAclItemArrayOid}}},
      {kPgCatalog, "pg_index", 'r', {{"indexrelid", kOidOid},
                                     {"indrelid", kOidOid},
                                     {"indnatts", kInt2Oid},
                                     {"indnkeyatts", kInt2Oid},
                                     {"indisunique", kBoolOid},
                                     {"indnullsnotdistinct", kBoolOid},
                                     {"indisprimary", kBoolOid},
                                     {"indisexclusion", kBoolOid},
                                     {"indimmediate", kBoolOid},
                                     {"indisclustered", kBoolOid},
                                     {"indisvalid", kBoolOid},
                                     {"indcheckxmin", kBoolOid},
                                     {"indisready", kBoolOid},
                                     {"indislive", kBoolOid},
                                     {"indisreplident", kBoolOid},
                                     {"indkey", kInt2VectorOid},
                                     {"indcollation", kOidVectorOid},
                                     {"indclass", kOidVectorOid},
                                     {"indoption", kInt2VectorOid},
                                     {"indexprs", kTextOid},
                                     {"indpred", kTextOid}}},
      {kPgCatalog,
       "pg_constraint",
       'r',
       {{"oid", kOidOid},
        {"conname", kNameOid},
        {"connamespace", kOidOid},
        {"contype", kCharOid},
        {"condeferrable", kBoolOid},
        {"condeferred", kBoolOid},
        {"convalidated", kBoolOid},
        {"conrelid", kOidOid},
        {"contypid", kOidOid},
        {"conindid", kOidOid},
        {"conparentid", kOidOid},
        {"confrelid", kOidOid},
        {"confupdtype", kCharOid},
        {"confdeltype", kCharOid},
        {"confmatchtype", kCharOid},
        {"conislocal", kBoolOid},
        {"coninhcount", kInt4Oid},
        {"connoinherit", kBoolOid},
        {"conkey", kInt2ArrayOid},
        {"confkey", kInt2ArrayOid},
        {"conpfeqop", kOidArrayOid},
        {"conppeqop", kOidArrayOid},
        {"conffeqop", kOidArrayOid},
        {"confdelsetcols", kInt2ArrayOid},
        {"conexclop", kOidArrayOid},
        {"conbin", kTextOid}}},
      {kPgCatalog,
       "pg_attrdef",
       'r',
       {{"oid", kOidOid}, {"adrelid", kOidOid}, {"adnum", kInt2Oid}, {"adbin", kTextOid}}},
      {kPgCatalog,
       "pg_inherits",
       'r',
       {{"inhrelid", kOidOid},
        {"inhparent", kOidOid},
        {"inhseqno", kInt4Oid},
        {"inhdetachpending", kBoolOid}}},
      {kPgCatalog,
       "pg_trigger",
       'r',
       {{"oid", kOidOid},
        {"tgrelid", kOidOid},
        {"tgparentid", kOidOid},
        {"tgname", kNameOid},
        {"tgfoid", kOidOid},
        {"tgtype", kInt2Oid},
        {"tgenabled", kCharOid},
        {"tgisinternal", kBoolOid},
        {"tgconstrrelid", kOidOid},
        {"tgconstrindid", kOidOid},
        {"tgconstraint", kOidOid},
        {"tgdeferrable", kBoolOid},
        {"tginitdeferred", kBoolOid},
        {"tgnargs", kInt2Oid},
        {"tgattr", kInt2VectorOid},
        {"tgargs", kTextOid},
        {"tgqual", kTextOid},
        {"tgoldtable", kNameOid},
        {"tgnewtable", kNameOid}}},
      {kPgCatalog,
       "pg_rewrite",
       'r',
       {{"oid", kOidOid},
        {"rulename", kNameOid},
        {"ev_class", kOidOid},
        {"ev_type", kCharOid},
        {"ev_enabled", kCharOid},
        {"is_instead", kBoolOid},
        {"ev_qual", kTextOid},
        {"ev_action", kTextOid}}},
      {kPgCatalog,
       "pg_policy",
       'r',
       {{"oid", kOidOid},
        {"polname", kNameOid},
        {"polrelid", kOidOid},
        {"polcmd", kCharOid},
        {"polpermissive", kBoolOid},
        {"polroles", kOidArrayOid},
        {"polqual", kTextOid},
        {"polwithcheck", kTextOid}}},
      {kPgCatalog,
       "pg_statistic_ext",
       'r',
       {{"oid", kOidOid},
        {"stxrelid", kOidOid},
        {"stxname", kNameOid},
        {"stxnamespace", kOidOid},
        {"stxowner", kOidOid},
        {"stxstattarget", kInt4Oid},
        {"stxkeys", kInt2VectorOid},
        {"stxkind", kCharArrayOid},
        {"stxexprs", kTextOid}}},
      {kPgCatalog,
       "pg_publication",
       'r',
       {{"oid", kOidOid},
        {"pubname", kNameOid},
        {"pubowner", kOidOid},
        {"puballtables", kBoolOid},
        {"pubinsert", kBoolOid},
        {"pubupdate", kBoolOid},
        {"pubdelete", kBoolOid},
        {"pubtruncate", kBoolOid},
        {"pubviaroot", kBoolOid}}},
      {kPgCatalog,
       "pg_publication_rel",
       'r',
       {{"oid", kOidOid},
        {"prpubid", kOidOid},
        {"prrelid", kOidOid},
        {"prqual", kTextOid},
        {"prattrs", kInt2VectorOid}}},
      {kPgCatalog,
       "pg_publication_namespace",
       'r',
       {{"oid", kOidOid}, {"pnpubid", kOidOid}, {"pnnspid", kOidOid}}},
      {kPgCatalog,
       "pg_extension",
       'r',
       {{"oid", kOidOid},
        {"extname", kNameOid},
        {"extowner", kOidOid},
        {"extnamespace", kOidOid},
        {"extrelocatable", kBoolOid},
        {"extversion", kTextOid},
        {"extconfig", kOidArrayOid},
        {"extcondition", kTextArrayOid}}},
      {kPgCatalog,
       "pg_enum",
       'r',
       {{"oid", kOidOid},
        {"enumtypid", kOidOid},
        {"enumsortorder", kFloat4Oid},
        {"enumlabel", kNameOid}}},
      {kPgCatalog,
       "pg_range",
       'r',
       {{"rngtypid", kOidOid},
        {"rngsubtype", kOidOid},
        {"rngmultitypid", kOidOid},
        {"rngcollation", kOidOid},
        {"rngsubopc", kOidOid},
        {"rngcanonical", kRegProcOid},
        {"rngsubdiff", kRegProcOid}}},
      {kPgCatalog,
       "pg_depend",
       'r',
       {{"classid", kOidOid},
        {"objid", kOidOid},
        {"objsubid", kInt4Oid},
        {"refclassid", kOidOid},
        {"refobjid", kOidOid},
        {"refobjsubid", kInt4Oid},
        {"deptype", kCharOid}}},
      {kPgCatalog,
       "pg_sequence",
       'r',
       {{"seqrelid", kOidOid},
        {"seqtypid", kOidOid},
        {"seqstart", kInt8Oid},
        {"seqincrement", kInt8Oid},
        {"seqmax", kInt8Oid},
        {"seqmin", kInt8Oid},
        {"seqcache", kInt8Oid},
        {"seqcycle", kBoolOid}}},
      {kPgCatalog,
       "pg_partitioned_table",
       'r',
       {{"partrelid", kOidOid},
        {"partstrat", kCharOid},
        {"partnatts", kInt2Oid},
        {"partdefid", kOidOid},
        {"partattrs", kInt2VectorOid},
        {"partclass", kOidVectorOid},
        {"partcollation", kOidVectorOid},
        {"partexprs", kTextOid}}},
      {kPgCatalog,
       "pg_foreign_table",
       'r',
       {{"ftrelid", kOidOid}, {"ftserver", kOidOid}, {"ftoptions", kTextArrayOid}}},
      {kPgCatalog,
       "pg_event_trigger",
       'r',
       {{"oid", kOidOid},
        {"evtname", kNameOid},
        {"evtevent", kNameOid},
        {"evtowner", kOidOid},
        {"evtfoid", kOidOid},
        {"evtenabled", kCharOid},
        {"evttags", kTextArrayOid}}},
      {kPgCatalog,
       "pg_language",
       'r',
       {{"oid", kOidOid},
        {"lanname", kNameOid},
        {"lanowner", kOidOid},
        {"lanispl", kBoolOid},
        {"lanpltrusted", kBoolOid}}},
      {kInformationSchema,
       "schemata",
       'v',
       {{"catalog_name", kIdentifier},
        {"schema_name", kIdentifier},
        {"schema_owner", kIdentifier},
        {"default_character_set_catalog", kIdentifier},
        {"default_character_set_schema", kIdentifier},
        {"default_character_set_name", kIdentifier},
        {"sql_path", kCharacterData}}},
      {kInformationSchema,
       "tables",
       'v',
       {{"table_catalog", kIdentifier},
        {"table_schema", kIdentifier},
        {"table_name", kIdentifier},
        {"table_type", kCharacterData},
        {"self_referencing_column_name", kIdentifier},
        {"reference_generation", kCharacterData},
        {"user_defined_type_catalog", kIdentifier},
        {"user_defined_type_schema", kIdentifier},
        {"user_defined_type_name", kIdentifier},
        {"is_insertable_into", kCharacterData},
        {"is_typed", kCharacterData},
        {"commit_action", kCharacterData}}},
      {kInformationSchema,
       "columns",
       'v',
       {{"table_catalog", kIdentifier},
        {"table_schema", kIdentifier},
        {"table_name", kIdentifier},
        {"column_name", kIdentifier},
        {"ordinal_position", kCardinal},
        {"column_default", kCharacterData},
        {"is_nullable", kCharacterData},
        {"data_type", kCharacterData},
        {"character_maximum_length", kCardinal},
        {"character_octet_length", kCardinal},
        {"numeric_precision", kCardinal},
        {"numeric_precision_radix", kCardinal},
        {"numeric_scale", kCardinal},
        {"datetime_precision", kCardinal},
        {"interval_type", kCharacterData},
        {"interval_precision", kCardinal},
        {"character_set_catalog", kIdentifier},
        {"character_set_schema", kIdentifier},
        {"character_set_name", kIdentifier},
        {"collation_catalog", kIdentifier},
        {"collation_schema", kIdentifier},
        {"collation_name", kIdentifier},
        {"domain_catalog", kIdentifier},
        {"domain_schema", kIdentifier},
        {"domain_name", kIdentifier},
        {"udt_catalog", kIdentifier},
        {"udt_schema", kIdentifier},
        {"udt_name", kIdentifier},
        {"scope_catalog", kIdentifier},
        {"scope_schema", kIdentifier},
        {"scope_name", kIdentifier},
        {"maximum_cardinality", kCardinal},
        {"dtd_identifier", kIdentifier},
        {"is_self_referencing", kCharacterData},
        {"is_identity", kCharacterData},
        {"identity_generation", kCharacterData},
        {"identity_start", kCharacterData},
        {"identity_increment", kCharacterData},
        {"identity_maximum", kCharacterData},
        {"identity_minimum", kCharacterData},
        {"identity_cycle", kCharacterData},
        {"is_generated", kCharacterData},
        {"generation_expression", kCharacterData},
        {"is_updatable", kCharacterData}}},
      {kInformationSchema,
       "views",
       'v',
       {{"table_catalog", kIdentifier},
        {"table_schema", kIdentifier},
        {"table_name", kIdentifier},
        {"view_definition", kCharacterData},
        {"check_option", kCharacterData},
        {"is_updatable", kCharacterData},
        {"is_insertable_into", kCharacterData},
        {"is_trigger_updatable", kCharacterData},
        {"is_trigger_deletable", kCharacterData},
        {"is_trigger_insertable_into", kCharacterData}}},
      {kInformationSchema,
       "table_constraints",
       'v',
       {{"constraint_catalog", kIdentifier},
        {"constraint_schema", kIdentifier},
        {"constraint_name", kIdentifier},
        {"table_catalog", kIdentifier},
        {"table_schema", kIdentifier},
        {"table_name", kIdentifier},
        {"constraint_type", kCharacterData},
        {"is_deferrable", kCharacterData},
        {"initially_deferred", kCharacterData},
        {"enforced", kCharacterData},
        {"nulls_distinct", kCharacterData}}},
      {kInformationSchema,
       "key_column_usage",
       'v',
       {{"constraint_catalog", kIdentifier},
        {"constraint_schema", kIdentifier},
        {"constraint_name", kIdentifier},
        {"table_catalog", kIdentifier},
        {"table_schema", kIdentifier},
        {"table_name", kIdentifier},
        {"column_name", kIdentifier},
        {"ordinal_position", kCardinal},
        {"position_in_unique_constraint", kCardinal}}},
      {kInformationSchema,
       "routines",
       'v',
       {{"specific_catalog", kIdentifier},
        {"specific_schema", kIdentifier},
        {"specific_name", kIdentifier},
        {"routine_catalog", kIdentifier},
        {"routine_schema", kIdentifier},
        {"routine_name", kIdentifier},
        {"routine_type", kCharacterData},
        {"data_type", kCharacterData}}},
  };
  return kDefinitions;
}

Value Oid(int64_t oid) { return Value::Integer(oid, kOidOid); }
Value Name(std::string text) { return Value::Text(std::move(text), kNameOid); }
Value Char(char c) { return Value::Text(c == '\0' ? std::string() : std::string(1, c), kCharOid); }
Value Int2(int64_t value) { return Value::Integer(value, kInt2Oid); }
Value Int4(int64_t value) { return Value::Integer(value, kInt4Oid); }
Value Bool(bool value) { return Value::Bool(value); }
Value Text(std::string text) { return Value::Text(std::move(text), kTextOid); }
Value Characters(std::string text) { return Value::Text(std::move(text), kCharacterData); }
Value Identifier(std::string text) { return Value::Text(std::move(text), kIdentifier); }
Value Null(int32_t type) { return Value::Null(type); }

// "neural.samples" -> ("neural", "samples"); "samples" -> ("public", "samples").
std::pair<std::string, std::string> SplitServedName(const std::string& name) {
  size_t dot = name.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == name.size()) return {"public", name};
  return {name.substr(0, dot), name.substr(dot + 1)};
}

// information_schema.columns' numeric facts of a type: precision, radix, scale, datetime
// precision.
struct NumericFacts {
  std::optional<int> precision;
  std::optional<int> radix;
  std::optional<int> scale;
  std::optional<int> datetime_precision;
};

NumericFacts FactsOf(int32_t oid, int32_t modifier) {
  switch (oid) {
    case kInt2Oid:
      return {16, 2, 0, std::nullopt};
    case kInt4Oid:
      return {32, 2, 0, std::nullopt};
    case kInt8Oid:
      return {64, 2, 0, std::nullopt};
    case kFloat4Oid:
      return {24, 2, std::nullopt, std::nullopt};
    case kFloat8Oid:
      return {53, 2, std::nullopt, std::nullopt};
    case kNumericOid:
      if (modifier < 0) return {std::nullopt, 10, std::nullopt, std::nullopt};
      return {((modifier - 4) >> 16) & 0xffff, 10, (modifier - 4) & 0xffff, std::nullopt};
    case kDateOid:
      return {std::nullopt, std::nullopt, std::nullopt, 0};
    case kTimeOid:
    case kTimestampOid:
    case kTimestamptzOid:
    case kIntervalOid:
      return {std::nullopt, std::nullopt, std::nullopt, 6};
    default:
      return {};
  }
}

Value OptionalInt(std::optional<int> value) {
  return value ? Value::Integer(*value, kCardinal) : Value::Null(kCardinal);
}

}  // namespace

bool SystemCatalog::IsSystemRelation(std::string_view schema, std::string_view name) {
  for (const Definition& definition : Definitions()) {
    if (definition.name != name) continue;
    if (schema.empty() ? std::string_view(definition.schema) == kPgCatalog
                       : definition.schema == schema) {
      return true;
    }
  }
  return false;
}

void SystemCatalog::AddRelation(CatalogRelation relation) {
  by_name_[{relation.schema, relation.name}] = relations_.size();
  by_oid_[relation.oid] = relations_.size();
  relations_.push_back(std::move(relation));
}

arrow::Result<std::shared_ptr<const SystemCatalog>> SystemCatalog::Build(
    const std::vector<ServedTableInfo>& tables, const SessionSettings& settings) {
  auto catalog = std::shared_ptr<SystemCatalog>(new SystemCatalog(settings));
  catalog->search_path_ = settings.SearchPath();
  catalog->namespaces_ = {{kPgCatalogNamespaceOid, kPgCatalog},
                          {kPublicNamespaceOid, "public"},
                          {kInformationSchemaOid, kInformationSchema}};
  catalog->roles_ = {{kOwnerRoleOid, kOwnerRoleName}};
  if (settings.user() != kOwnerRoleName) catalog->roles_[kSessionRoleOid] = settings.user();

  std::vector<ServedTableInfo> sorted = tables;
  std::sort(sorted.begin(), sorted.end(),
            [](const ServedTableInfo& a, const ServedTableInfo& b) { return a.name < b.name; });
  // OIDs follow name order, so they are the same in every session of one server.
  int64_t next_oid = kFirstUserOid;
  std::set<std::string> schemas;
  for (const ServedTableInfo& table : sorted) schemas.insert(SplitServedName(table.name).first);
  for (const std::string& schema : schemas) {
    if (schema != "public") catalog->namespaces_[next_oid++] = schema;
  }
  int64_t system_oid = kFirstSystemRelationOid;
  for (const Definition& definition : Definitions()) {
    CatalogRelation relation;
    relation.oid = system_oid++;
    relation.schema = definition.schema;
    relation.name = definition.name;
    relation.kind = definition.kind;
    relation.columns = definition.columns;
    relation.not_null.assign(relation.columns.size(), false);
    catalog->AddRelation(std::move(relation));
  }
  for (const ServedTableInfo& table : sorted) {
    auto [schema, name] = SplitServedName(table.name);
    CatalogRelation relation;
    relation.oid = next_oid++;
    relation.schema = schema;
    relation.name = name;
    relation.served = true;
    for (const auto& field : table.schema->fields()) {
      PgColumnType type = ColumnTypeFor(*field->type());
      relation.columns.push_back({field->name(), type.oid, type.modifier});
      relation.not_null.push_back(!field->nullable());
    }
    catalog->AddRelation(std::move(relation));
  }

  const SystemCatalog* self = catalog.get();
  catalog->resolver_.name_of = [self](int32_t type, int64_t oid) -> std::optional<std::string> {
    switch (type) {
      case kRegClassOid: {
        const CatalogRelation* relation = self->RelationByOid(oid);
        if (relation == nullptr) return std::nullopt;
        if (self->RelationVisible(oid)) return relation->name;
        return relation->schema + "." + relation->name;
      }
      case kRegTypeOid:
        if (FindType(static_cast<int32_t>(oid)) == nullptr) return std::nullopt;
        return FormatType(static_cast<int32_t>(oid), -1);
      case kRegNamespaceOid:
        return self->NamespaceName(oid);
      case kRegRoleOid:
        return self->RoleName(oid);
      default:
        return std::nullopt;
    }
  };
  catalog->resolver_.oid_of = [self](int32_t type,
                                     std::string_view name) -> arrow::Result<int64_t> {
    std::string text(name);
    if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
      text = text.substr(1, text.size() - 2);
    }
    switch (type) {
      case kRegClassOid: {
        size_t dot = text.find('.');
        const CatalogRelation* relation =
            dot == std::string::npos ? self->Find("", text)
                                     : self->Find(text.substr(0, dot), text.substr(dot + 1));
        if (relation == nullptr) {
          return SqlStateError(sqlstate::kUndefinedTable,
                               "relation \"" + std::string(name) + "\" does not exist");
        }
        return relation->oid;
      }
      case kRegTypeOid: {
        std::string bare = text.rfind("pg_catalog.", 0) == 0 ? text.substr(11) : text;
        const PgType* found = FindTypeByName(bare);
        if (found == nullptr) {
          return SqlStateError(sqlstate::kUndefinedObject,
                               "type \"" + std::string(name) + "\" does not exist");
        }
        return found->oid;
      }
      case kRegNamespaceOid: {
        auto oid = self->NamespaceOid(text);
        if (!oid) {
          return SqlStateError(sqlstate::kUndefinedObject,
                               "schema \"" + std::string(name) + "\" does not exist");
        }
        return *oid;
      }
      case kRegRoleOid:
        for (const auto& [oid, role] : self->roles_) {
          if (role == text) return oid;
        }
        return SqlStateError(sqlstate::kUndefinedObject,
                             "role \"" + std::string(name) + "\" does not exist");
      default:
        return SqlStateError(sqlstate::kUndefinedFunction,
                             "function \"" + std::string(name) + "\" does not exist");
    }
  };
  catalog->FillRows();
  return std::shared_ptr<const SystemCatalog>(std::move(catalog));
}

void SystemCatalog::FillRows() {
  auto rows_of = [this](const char* schema, const char* name) -> std::vector<Row>& {
    return relations_[by_name_.at({schema, name})].rows;
  };
  const std::string database = settings_.database();

  for (const auto& [oid, name] : namespaces_) {
    rows_of(kPgCatalog, "pg_namespace")
        .push_back({Oid(oid), Name(name), Oid(kOwnerRoleOid), Null(kAclItemArrayOid)});
    rows_of(kInformationSchema, "schemata")
        .push_back({Identifier(database), Identifier(name), Identifier(kOwnerRoleName),
                    Null(kIdentifier), Null(kIdentifier), Null(kIdentifier), Null(kCharacterData)});
  }

  for (const CatalogRelation& relation : relations_) {
    const int64_t namespace_oid = *NamespaceOid(relation.schema);
    const bool view = relation.kind == 'v';
    rows_of(kPgCatalog, "pg_class")
        .push_back({Oid(relation.oid),
                    Name(relation.name),
                    Oid(namespace_oid),
                    Oid(0),
                    Oid(0),
                    Oid(kOwnerRoleOid),
                    Oid(view ? 0 : kHeapAccessMethodOid),
                    Oid(0),
                    Oid(0),
                    Int4(0),
                    Value::Float(-1, kFloat4Oid),
                    Int4(0),
                    Oid(0),
                    Bool(false),
                    Bool(false),
                    Char('p'),
                    Char(relation.kind),
                    Int2(static_cast<int64_t>(relation.columns.size())),
                    Int2(0),
                    Bool(view),
                    Bool(false),
                    Bool(false),
                    Bool(false),
                    Bool(false),
                    Bool(true),
                    Char(view ? 'n' : 'd'),
                    Bool(false),
                    Oid(0),
                    Int4(0),
                    Int4(0),
                    Null(kAclItemArrayOid),
                    Null(kTextArrayOid),
                    Null(kTextOid)});
    if (view) {
      rows_of(kPgCatalog, "pg_views")
          .push_back(
              {Name(relation.schema), Name(relation.name), Name(kOwnerRoleName), Null(kTextOid)});
    } else {
      rows_of(kPgCatalog, "pg_tables")
          .push_back({Name(relation.schema), Name(relation.name), Name(kOwnerRoleName),
                      Null(kNameOid), Bool(false), Bool(false), Bool(false), Bool(false)});
    }
    rows_of(kInformationSchema, "tables")
        .push_back({Identifier(database), Identifier(relation.schema), Identifier(relation.name),
                    Characters(view ? "VIEW" : "BASE TABLE"), Null(kIdentifier),
                    Null(kCharacterData), Null(kIdentifier), Null(kIdentifier), Null(kIdentifier),
                    Characters("NO"), Characters("NO"), Null(kCharacterData)});
    for (size_t index = 0; index < relation.columns.size(); ++index) {
      const CatalogColumn& column = relation.columns[index];
      const PgType* type = FindType(column.type);
      const int32_t modifier = column.modifier;
      const int64_t number = static_cast<int64_t>(index) + 1;
      const bool textual = column.type == kTextOid || column.type == kVarcharOid ||
                           column.type == kBpcharOid || column.type == kNameOid;
      const int64_t collation = textual ? kDefaultCollationOid : 0;
      rows_of(kPgCatalog, "pg_attribute")
          .push_back({Oid(relation.oid),
                      Name(column.name),
                      Oid(column.type),
                      Int4(-1),
                      Int2(type == nullptr ? -1 : type->length),
                      Int2(number),
                      Int4(type != nullptr && type->category == 'A' ? 1 : 0),
                      Int4(-1),
                      Int4(modifier),
                      Bool(type != nullptr && type->by_value),
                      Char(type == nullptr ? 'i' : type->alignment),
                      Char(type != nullptr && type->length == -1 ? 'x' : 'p'),
                      Char('\0'),
                      Bool(relation.not_null[index]),
                      Bool(false),
                      Bool(false),
                      Char('\0'),
                      Char('\0'),
                      Bool(false),
                      Bool(true),
                      Int4(0),
                      Oid(collation),
                      Null(kAclItemArrayOid),
                      Null(kTextArrayOid),
                      Null(kTextArrayOid),
                      Null(kTextOid)});
      NumericFacts facts = FactsOf(column.type, modifier);
      const bool array = type != nullptr && type->category == 'A';
      rows_of(kInformationSchema, "columns")
          .push_back({Identifier(database),
                      Identifier(relation.schema),
                      Identifier(relation.name),
                      Identifier(column.name),
                      Value::Integer(number, kCardinal),
                      Null(kCharacterData),
                      Characters(relation.not_null[index] ? "NO" : "YES"),
                      Characters(array ? "ARRAY" : FormatType(column.type, -1)),
                      Null(kCardinal),
                      textual ? Value::Integer(1073741824, kCardinal) : Null(kCardinal),
                      OptionalInt(facts.precision),
                      OptionalInt(facts.radix),
                      OptionalInt(facts.scale),
                      OptionalInt(facts.datetime_precision),
                      Null(kCharacterData),
                      Null(kCardinal),
                      Null(kIdentifier),
                      Null(kIdentifier),
                      Null(kIdentifier),
                      Null(kIdentifier),
                      Null(kIdentifier),
                      Null(kIdentifier),
                      Null(kIdentifier),
                      Null(kIdentifier),
                      Null(kIdentifier),
                      Identifier(database),
                      Identifier(kPgCatalog),
                      Identifier(type == nullptr ? "text" : type->name),
                      Null(kIdentifier),
                      Null(kIdentifier),
                      Null(kIdentifier),
                      Null(kCardinal),
                      Identifier(std::to_string(number)),
                      Characters("NO"),
                      Characters("NO"),
                      Null(kCharacterData),
                      Null(kCharacterData),
                      Null(kCharacterData),
                      Null(kCharacterData),
                      Null(kCharacterData),
                      Characters("NO"),
                      Characters("NEVER"),
                      Null(kCharacterData),
                      Characters("NO")});
    }
  }

  for (const PgType& type : BuiltinTypes()) {
    const bool pseudo = type.category == 'P' || type.category == 'X';
    const bool textual = type.oid == kTextOid || type.oid == kVarcharOid ||
                         type.oid == kBpcharOid || type.oid == kNameOid;
    rows_of(kPgCatalog, "pg_type")
        .push_back({Oid(type.oid),
                    Name(type.name),
                    Oid(kPgCatalogNamespaceOid),
                    Oid(kOwnerRoleOid),
                    Int2(type.length),
                    Bool(type.by_value),
                    Char(pseudo ? 'p' : 'b'),
                    Char(type.category),
                    Bool(type.preferred),
                    Bool(true),
                    Char(','),
                    Oid(0),
                    Value::Integer(0, kRegProcOid),
                    Oid(type.element),
                    Oid(type.array),
                    Value::Integer(0, kRegProcOid),
                    Value::Integer(0, kRegProcOid),
                    Value::Integer(0, kRegProcOid),
                    Value::Integer(0, kRegProcOid),
                    Value::Integer(0, kRegProcOid),
                    Value::Integer(0, kRegProcOid),
                    Value::Integer(0, kRegProcOid),
                    Char(type.alignment),
                    Char(type.length == -1 ? 'x' : 'p'),
                    Bool(false),
                    Oid(0),
                    Int4(-1),
                    Int4(0),
                    Oid(textual ? kDefaultCollationOid : 0),
                    Null(kTextOid),
                    Null(kTextOid),
                    Null(kAclItemArrayOid)});
  }

  rows_of(kPgCatalog, "pg_database")
      .push_back({Oid(kDatabaseOid), Name(database), Oid(kOwnerRoleOid), Int4(kUtf8Encoding),
                  Char('c'), Bool(false), Bool(true), Int4(-1), Int4(0), Int4(0),
                  Oid(kDefaultTablespaceOid), Text("C.UTF-8"), Text("C.UTF-8"), Null(kTextOid),
                  Null(kTextOid), Null(kAclItemArrayOid)});

  for (const auto& [oid, role] : roles_) {
    const bool owner = oid == kOwnerRoleOid;
    rows_of(kPgCatalog, "pg_roles")
        .push_back({Name(role), Bool(owner), Bool(true), Bool(false), Bool(false), Bool(true),
                    Bool(false), Int4(-1), Text("********"), Null(kTimestamptzOid), Bool(false),
                    Null(kTextArrayOid), Oid(oid)});
    rows_of(kPgCatalog, "pg_user")
        .push_back({Name(role), Oid(oid), Bool(false), Bool(owner), Bool(false), Bool(false),
                    Text("********"), Null(kTimestamptzOid), Null(kTextArrayOid)});
  }

  rows_of(kPgCatalog, "pg_am")
      .push_back(
          {Oid(kHeapAccessMethodOid), Name("heap"), Value::Integer(0, kRegProcOid), Char('t')});
  rows_of(kPgCatalog, "pg_tablespace")
      .push_back({Oid(kDefaultTablespaceOid), Name("pg_default"), Oid(kOwnerRoleOid),
                  Null(kAclItemArrayOid), Null(kTextArrayOid)});
  rows_of(kPgCatalog, "pg_collation")
      .push_back({Oid(kDefaultCollationOid), Name("default"), Oid(kPgCatalogNamespaceOid),
                  Oid(kOwnerRoleOid), Char('d'), Bool(true), Int4(-1), Null(kTextOid),
                  Null(kTextOid), Null(kTextOid), Null(kTextOid)});
  for (const auto& [description, value] : settings_.All()) {
    rows_of(kPgCatalog, "pg_settings")
        .push_back({Text(description.name), Text(value), Null(kTextOid), Text("Client Connection"),
                    Text(description.description), Null(kTextOid), Text("user"), Text("string"),
                    Text("default"), Null(kTextOid), Null(kTextOid), Null(kTextArrayOid),
                    Text(description.default_value), Text(description.default_value),
                    Null(kTextOid), Null(kInt4Oid), Bool(false)});
  }
}

const CatalogRelation* SystemCatalog::Find(std::string_view schema, std::string_view name) const {
  if (!schema.empty()) {
    auto found = by_name_.find({std::string(schema), std::string(name)});
    return found == by_name_.end() ? nullptr : &relations_[found->second];
  }
  if (auto found = by_name_.find({kPgCatalog, std::string(name)}); found != by_name_.end()) {
    return &relations_[found->second];
  }
  for (const std::string& path_schema : search_path_) {
    auto found = by_name_.find({path_schema, std::string(name)});
    if (found != by_name_.end()) return &relations_[found->second];
  }
  return nullptr;
}

bool SystemCatalog::RelationVisible(int64_t oid) const {
  const CatalogRelation* relation = RelationByOid(oid);
  if (relation == nullptr) return false;
  // Visible when it is the first relation of its name along pg_catalog and the search path.
  return Find("", relation->name) == relation;
}

std::optional<std::string> SystemCatalog::NamespaceName(int64_t oid) const {
  auto found = namespaces_.find(oid);
  if (found == namespaces_.end()) return std::nullopt;
  return found->second;
}

std::optional<std::string> SystemCatalog::RoleName(int64_t oid) const {
  auto found = roles_.find(oid);
  if (found == roles_.end()) return std::nullopt;
  return found->second;
}

std::optional<int64_t> SystemCatalog::NamespaceOid(std::string_view name) const {
  for (const auto& [oid, namespace_name] : namespaces_) {
    if (namespace_name == name) return oid;
  }
  return std::nullopt;
}

const CatalogRelation* SystemCatalog::RelationByOid(int64_t oid) const {
  auto found = by_oid_.find(oid);
  return found == by_oid_.end() ? nullptr : &relations_[found->second];
}

}  // namespace nlk::pgwire
