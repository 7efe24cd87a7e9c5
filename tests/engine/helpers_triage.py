# ruff: noqa: E501  (the articles' messages are quoted whole, one to a line)
"""Every message Microsoft's dual-write troubleshooting articles print, quoted as the article prints
it, with the cause the article gives: the triage tests classify them, the error-log and step-9
tests upload them."""

# The articles (MicrosoftDocs/dynamics-365-unified-operations-public, articles/fin-ops-core/
# dev-itpro/data-entities/dual-write/<article>.md).
IS = "dual-write-troubleshooting-initial-sync.md"
GUIDE = "initial-sync-guidance.md"
LIVE = "dual-write-troubleshooting-live-sync.md"
MAPS = "dual-write-troubleshooting-dual-write-module.md"
UPGRADE = "dual-write-troubleshooting-finops-upgrades.md"
SETUP = "dual-write-troubleshooting-initial-setup.md"
GAB = "party-gab-troubleshooting.md"


BAD_REQUEST = """Dual write Initial Sync completed with status: Error. Following are the details:
Executed leg: From AX Financial dimensions to CRM msdyn_dimensionattributes
with exported records count: 0, ImportRecordsErrorCount: 0,
ImportRecordsInsertedCount: 0 and ImportRecordsUpdatedCount: 0
ErrorsDetails:
Dual write Initial sync failed
Message: ([Bad Request], The remote server returned an error: (400) Bad Request.), AX export encountered an error
Stacktrace: at
Microsoft.Dynamics.Integrator.QueryGenerator.AxClient.<ExportAxPackage>d__16.MoveNext()
in X:\\bt\\1024532\\repo\\src\\Core\\QueryGenerator\\AxClient.cs:line 265
--- End of stack trace from previous location where exception was thrown ---
at System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw()"""  # IS: "400 Bad Request", full example


ISDELETE = (  # UPGRADE: "Database synchronization errors"
    "Infolog diagnostic message: 'Cannot select a record in Dual write project sync (DualWriteProjectConfiguration). "
    "The SQL database has issued an error.' on category 'Error'. 10/28/2019 15:18:20: Infolog diagnostic message: "
    "'Object Server Database Synchronizer: ' on category 'Error'. 10/28/2019 15:18:20: Infolog diagnostic message: "
    "'[Microsoft][ODBC Driver 17 for SQL Server][SQL Server]Invalid column name 'ISDELETE'.' on category 'Error'."
)


# (source article, message as printed, cause)
DOCUMENTED = [
    (
        IS,
        "([Bad Request], The remote server returned an error: (400) Bad Request.), AX export encountered an error.",
        "export_bad_request",
    ),
    (IS, BAD_REQUEST, "export_bad_request"),
    (
        IS,
        "([Forbidden], The remote server returned an error: (403) Forbidden.), AX export encountered an error",
        "export_forbidden",
    ),
    (
        IS,
        "Couldn't resolve the guid for the field: msdyn_vendorprimarycontactperson.msdyn_contactpersonid. The lookup wasn't found: 000056. Try this URL(s) to check if the reference data exists: https://focdsdevtest2.crm.dynamics.com/api/data/v9.0/contacts?$select=msdyn_contactpersonid.contactid&$filter=msdyn_contactpersonid eq '000056'",
        "circular_reference",
    ),
    (
        IS,
        "Couldn't resolve the guid for the field: msdyn_invoicevendoraccountnumber.msdyn_vendoraccountnumber. The lookup wasn't found: V24-1. Try this URL(s) to check if the reference data exists: https://focdsdevtest2.crm.dynamics.com/api/data/v9.0/msdn_vendors?$select=msdyn_vendoraccountnumber,msdyn_vendorid&$filter=msdyn_vendoraccountnumber eq 'V24-1'",
        "circular_reference",
    ),
    (
        IS,
        "Couldn't resolve the guid for the field: primarycontactid.msdyn_contactpersonid. The lookup wasn't found: 000056. Try this URL(s) to check if the reference data exists: https://focdsdevtest2.crm.dynamics.com/api/data/v9.0/contacts?$select=msdyn_contactpersonid.contactid&$filter=msdyn_contactpersonid eq '000056'",
        "circular_reference",
    ),
    (
        IS,
        "Couldn't resolve the guid for the field: msdyn_billingaccount.accountnumber. The lookup wasn't found: 1206-1. Try this URL(s) to check if the reference data exists: https://focdsdevtest2.crm.dynamics.com/api/data/v9.0/accounts?$select=accountnumber.account&$filter=accountnumber eq '1206-1'",
        "circular_reference",
    ),
    # The article's form of the message, for a field that is no self or circular reference.
    (
        IS,
        "Couldn't resolve the guid for the field: msdyn_customergroupid.msdyn_groupid. The lookup wasn't found: 30. Try this URL(s) to check if the reference data exists: https://focdsdevtest2.crm.dynamics.com/api/data/v9.0/msdyn_customergroups?$select=msdyn_groupid&$filter=msdyn_groupid eq '30'",
        "lookup_not_found",
    ),
    (
        IS,
        "CRMExport: Package execution complete. Error Description 5 Attempts to get data from https://xxxxx//datasets/yyyyy/tables/accounts/items?$select=accountnumber, address2_city, address2_country, ... (msdyn_company/cdm_companyid eq 'ID')&$orderby=accountnumber asc failed.",
        "too_many_lookups",
    ),
    (GUIDE, "5 Attempts to get data from https://XXXX.azure-apim.net/apim... Failed", "too_many_lookups"),
    (IS, "Party number couldn't be found in Dataverse.", "party_not_found"),
    (
        IS,
        "An error occurred while validating input parameters: Microsoft.OData.ODataException: Can't convert the literal '000000' to the expected type'Edm.Decimal',...",
        "decimal_locale",
    ),
    (
        GUIDE,
        "Initial writes failed while parsing the data for leg:From Dynamics 365 for Finance and Operations Entity to Dynamics 365 for Sales Entity - Legal Entity. Message: Type=Microsoft.VisualBasic.FileIO.MalformedLineException, Msg=Line # cannot be parsed using the current Delimiters.",
        "double_quotes",
    ),
    (
        GUIDE,
        "Dual-write failure - Plugin registration failed: [(Unable to get partition map for project DWM-1ae35e60-4bc2-4905-88ea-XXXXX. Error Exceeds the maximum partitions allowed for mapping DWM-1ae35e60-4bc2-4905-88ea- XXXXX)], One or more errors occurred.",
        "partition_limit",
    ),
    (
        SETUP,
        "Dual write failure - Plugin registration failed: [(Unable to get partition map for project\nDWM-1ae35e60-4bc2-4905-88ea-69efd3b29260-7f12cb89-1550-42e2-858e-4761fc1443ea.\nError Exceeds the maximum partitions allowed for mapping\nDWM-1ae35e60-4bc2-4905-88ea-69efd3b29260-7f12cb89-1550-42e2-858e-4761fc1443ea)],\nOne or more errors occurred.",
        "partition_limit",
    ),
    (
        LIVE,
        '[{\\"error\\":{\\"code\\":\\"0x80072560\\",\\"message\\":\\"The user isn\'t a member of the organization.\\"}}], The remote server returned an error: (403) Forbidden."}}".',
        "app_user_roles",
    ),
    (
        LIVE,
        '[{\\"error\\":{\\"code\\":\\"0x80072560\\",\\"message\\":\\"The user is not a\nmember of the organization.\\"}}], The remote server returned an error: (403)\nForbidden."}}".',
        "app_user_roles",
    ),  # the 2020 revision
    (
        LIVE,
        "Can't save the changes to the database. Unit of Work can't commit transaction. Unable to write data to entity uoms. Writes to UnitOfMeasureEntity failed with error message Unable to sync with entity uoms.",
        "reference_data_missing",
    ),
    (
        LIVE,
        '{"entityName":"CustCustomerV3Entity","executionStatus":2,"fieldResponses":[],"recordResponses":[{"errorMessage":"Unable to generate payload for entity CustCustomerV3Entity","logDateTime":"2019-08-27T18:5152.5843124Z","verboseError":"Payload creation failed with error Invalid URI: The URI is empty."}],"isErrorCountUpdated":true}',
        "dataverse_reset",
    ),
    (
        LIVE,
        "An unexpected error occurred from ISV code. (ErrorType = ClientError) Unexpected exception from plug-in (Execute): Microsoft.Dynamics.Integrator.DualWriteRuntime.Plugins.PostCommitPlugin: System.Exception: failed to process entity account - A connection attempt failed because the connected party didn't properly respond after a period of time, or established connection failed because connected host didn't respond.",
        "dataverse_reset",
    ),
    (LIVE, "SecureConfig Organization (???) doesn't match actual CRM Organization (???).", "database_copy"),
    (
        LIVE,
        "Unable to write data to entity aaa_fundingsources. Unable to look up ebecsfs_contracts with values {PC00...}. Unable to look up aaa_fundingsources with values {PC00...}. Writes to aaa_fundingsources failed with error message Exception message: The remote server returned an error: (400) Bad Request.",
        "same_batch_references",
    ),
    (
        LIVE,
        "Unable to write data to entity msdyn_partypostaladdresses. Writes to DirPartyPostalAddressLocationCDSEntity failed with error message Request failed with status code BadRequest and CDS error code: 0x80040265 response message: An error occurred in plugin. A record that has the attribute values Location ID already exists. The entity key Location ID Key requires that this set of attributes contains unique values. Select unique values and try again.",
        "location_key",
    ),
    (
        LIVE,
        '"RecordError0":"Write failed for entity Customers V3 with unknown exception - Party record not found for party type \'Organization\'"}.',
        "party_record_not_found",
    ),
    (
        LIVE,
        "Cannot update a party's type from 'DirOrganization' to 'DirPerson', a delete of the existing party followed by an insert with the new type should be performed instead.",
        "party_type_change",
    ),
    (
        GAB,
        "Can't update a party's type from 'DirOrganization' to 'DirPerson', a delete of the existing party followed by an insert with the new type should be performed instead.",
        "party_type_change",
    ),
    (
        GAB,
        "Customers V3 (accounts): Project validation failed. Missing destination field msdyn_billingaccount.accountnumber in the schema. Missing destination field msdyn_primarycontact.msdyn_contactforpartynumber in the schema.",
        "integration_keys",
    ),
    (
        GAB,
        "Unable to write data to entity msdyn_contactforparties. Unable to look up msdyn_parties with values {000006057}. Unable to look up cdm_workers with values {000020}.",
        "contact_from_view_form",
    ),
    (
        GAB,
        "Unable to write data to entity msdyn_contactforparties.Writes to smmContactPersonV2Entity failed with error message Request failed with status code BadRequest and CDS error code: 0x0 response message: An error occurred while validating input parameters: Microsoft.OData.ODataException: Can't convert the literal '' to the expected type 'Edm.Int32'.",
        "contact_update_int32",
    ),
    (MAPS, "Response status code does not indicate success: 401 (Unauthorized).", "map_create_unauthorized"),
    (MAPS, "login.microsoftonline.com refused to connect.", "sign_in_refused"),
    (
        MAPS,
        "Response status code does not indicate success: 403 (tokenexchange).\nSession ID: <your session id>\nRoot activity ID: <your root activity> id",
        "token_exchange",
    ),
    (
        MAPS,
        '[Forbidden], [{"status":403,"source":"","message":"Error from token exchange:\nUser is not allowed to access connection\ndynamicscrmonline/xxxxxx-xxxx-xxxx-xxxxxxxx"}], The remote server returned an\nerror: (403) Forbidden.',
        "stop_forbidden",
    ),
    (
        MAPS,
        "Unable to complete initial data sync. Error: dual-write failure - plugin registration failed: Unable to build dual-write lookup metadata. Error object reference not set to an instance of an object.",
        "lookup_metadata",
    ),
    (
        MAPS,
        "Customer groups (msdyn_customergroups) : Dual write failure - Dynamics 365 for Sales solution 'Dynamics365Company' has version mismatch. Version: '2.0.2.10' Required version: '2.0.133'",
        "solution_version",
    ),
    (
        MAPS,
        "Dynamics 365 for Sales solution 'Dynamics365FinanceExtended' has version mismatch. Version: '1.0.0.0' Required version: '2.0.227'",
        "solution_version",
    ),
    (
        MAPS,
        "Dynamics 365 for Sales solution 'Dynamics365FinanceAndOperationsCommon' has version mismatch. Version: '1.0.0.0' Required version: '2.0.133'",
        "solution_version",
    ),
    (
        MAPS,
        "Dynamics 365 for Sales solution 'CurrencyExchangeRates' has version mismatch. Version: '1.0.0.0' Required version: '2.0.133'",
        "solution_version",
    ),
    (
        MAPS,
        "Dynamics 365 for Sales solution 'Dynamics365SupplyChainExtended' has version mismatch. Version: '1.0.0.0' Required version: '2.0.227'",
        "solution_version",
    ),
    (UPGRADE, ISDELETE, "upgrade_isdelete"),
    (UPGRADE, "Missing source field <field name> in the schema.", "missing_field"),
    (
        SETUP,
        "Saving connection set failed! An item with the same key has already been added.",
        "duplicate_company_name",
    ),
    (SETUP, "Response status code doesn't indicate success: 404 (Not Found).", "app_consent"),
    (
        SETUP,
        "Finance and operations apps environment ***.cloudax.dynamics.com isn't discoverable.",
        "not_discoverable",
    ),
    (
        SETUP,
        "MSG=[Failed to setup dual write environment. Error Details:Response status code does not indicate success: 403 (Forbidden). - Response status code does not indicate success: 403 (Forbidden).] STACKTRACE=[   at Microsoft.Dynamics.Integrator.ProjectManagementService.DualWrite.DualWriteConnectionSetProcessor.<CreateDualWriteConnectionSetAsync>d__29.MoveNext()",
        "power_apps_license",
    ),
]
VERSION = next(m for _, m, c in DOCUMENTED if m.startswith("Customer groups"))
