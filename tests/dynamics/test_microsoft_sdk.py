"""Microsoft's own Python SDK (powerplatform-dataverse-client) reads the emulator: if Microsoft's
client cannot read it, the emulator is wrong, and so would be what the tests prove with it."""

from azure.core.credentials import AccessToken
from PowerPlatform.Dataverse.client import DataverseClient

from .conftest import credentials_for
from .helpers import FORMATTED, orders


class MsalCredential:
    """The azure-core TokenCredential the SDK asks for, over the same MSAL client credentials."""

    def __init__(self, credentials):
        self.credentials = credentials

    def get_token(self, *scopes, **kwargs) -> AccessToken:
        return AccessToken(self.credentials.token(), 0)


def test_microsofts_sdk_pages_through_a_table_with_its_labels(sales, entra):
    sales.add_table("salesorders", "salesorder", "salesorderid", {"name", "msdyn_ordertype"}, orders(7))
    client = DataverseClient(sales.url, MsalCredential(credentials_for(sales, entra)))
    pages = list(
        client.records.list_pages(
            "salesorder", select=["name", "msdyn_ordertype"], page_size=3, include_annotations=FORMATTED[1:]
        )
    )
    assert [len(page) for page in pages] == [3, 3, 1]
    records = [dict(record) for page in pages for record in page]
    assert [r["name"] for r in records] == [f"Order {n}" for n in range(7)]
    assert records[0]["msdyn_ordertype" + FORMATTED] == "Item based"
    # Asked for labels only, it gets no other annotation (select-columns#formatted-values).
    assert not any("lookuplogicalname" in column for column in records[0])
