"""One account per role and scope, around Đa Lộc commune (29377) in Châu Thành district (847), Trà Vinh (84)."""

from sqlalchemy.orm import Session

from domain.approvals import Role
from domain.areas import AreaLevel
from domain.users import Membership
from storage.repositories import users

DRAFT_AREA = "29377"  # Xã Đa Lộc
OTHER_COMMUNE = "29380"  # Xã Mỹ Chánh, same district

ACCOUNTS: dict[str, list[Membership]] = {
    "editor_daloc": [Membership(Role.EDITOR, DRAFT_AREA)],
    "editor_mychanh": [Membership(Role.EDITOR, OTHER_COMMUNE)],
    "approver_daloc": [Membership(Role.APPROVER, DRAFT_AREA, level=AreaLevel.COMMUNE)],
    "approver_mychanh": [Membership(Role.APPROVER, OTHER_COMMUNE, level=AreaLevel.COMMUNE)],
    "approver_chauthanh": [Membership(Role.APPROVER, "847", level=AreaLevel.DISTRICT)],
    "approver_travinh": [Membership(Role.APPROVER, "84", level=AreaLevel.PROVINCE)],
    "translator_km": [Membership(Role.TRANSLATOR, "84", language="km")],
    "admin": [Membership(Role.ADMIN)],
}


# Today's units (since 1 July 2025): Đa Lộc and Mỹ Chánh are part of Xã Châu Thành (29374), Tỉnh Vĩnh Long (86).
TWO_TIER_AREA = "29374"
TWO_TIER_ACCOUNTS: dict[str, list[Membership]] = {
    "editor_ct": [Membership(Role.EDITOR, TWO_TIER_AREA)],
    "approver_ct": [Membership(Role.APPROVER, TWO_TIER_AREA, level=AreaLevel.COMMUNE)],
    "approver_vinhlong": [Membership(Role.APPROVER, "86", level=AreaLevel.PROVINCE)],
    "translator_km": [Membership(Role.TRANSLATOR, "86", language="km")],
    "admin": [Membership(Role.ADMIN)],
}


def create_accounts(s: Session, password: str, accounts: dict[str, list[Membership]] = ACCOUNTS) -> None:
    for username, memberships in accounts.items():
        users.add_user(s, username=username, full_name=username.replace("_", " ").title(), memberships=memberships,
                       password=password)


def api_token(username: str, *, days: int = 30) -> str:
    """A fresh API token for one of the accounts (created through the service, as the CLI does)."""
    from services import credentials
    from services.runtime import session

    with session() as s:
        return credentials.create_api_token(s, username, name="test", days=days, actor=username)[1]
