"""IAM behaviour moto 5.2 lacks or gets wrong, patched onto its models and responses:

- user permissions boundaries (Put/DeleteUserPermissionsBoundary, CreateUser's parameter,
  shown by GetUser and GetAccountAuthorizationDetails);
- boundaries must name an existing managed policy (NoSuchEntity otherwise);
- service-linked roles (path /aws-service-role/) refuse policy and boundary changes with
  UnmodifiableEntity;
- the 6,144-character (whitespace excluded) managed policy size quota;
- GetAccountAuthorizationDetails paging (MaxItems/Marker) and only attached AWS managed
  policies in it, as AWS answers;
- role lookup by name in O(1): moto scans every role, which made big scenarios slow.
"""

from __future__ import annotations

import functools

from moto.core.responses import ActionResult, EmptyResult
from moto.core.serialize import return_if_not_empty, url_encode
from moto.iam.exceptions import IAMException, LimitExceededException, NotFoundException
from moto.iam.models import AWSManagedPolicy, IAMBackend, User
from moto.iam.responses import IamResponse

from .advisor import max_items, page

SERVICE_LINKED_PATH = "/aws-service-role/"
MANAGED_POLICY_SIZE_QUOTA = 6144


class UnmodifiableEntity(IAMException):
    code = "UnmodifiableEntity"


# ---------------------------------------------------------------- user boundaries


def _user_boundary(self) -> dict | None:
    arn = getattr(self, "permissions_boundary_arn", None)
    if not arn:
        return None
    return {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": arn}


def require_boundary_policy(backend, arn: str) -> None:
    if arn not in backend.managed_policies:
        raise NotFoundException(f"Policy {arn} does not exist or is not attachable.")


def put_user_permissions_boundary(self) -> ActionResult:
    user = self.backend.get_user(self._get_param("UserName"))
    arn = self._get_param("PermissionsBoundary")
    require_boundary_policy(self.backend, arn)
    user.permissions_boundary_arn = arn
    return EmptyResult()


def delete_user_permissions_boundary(self) -> ActionResult:
    user = self.backend.get_user(self._get_param("UserName"))
    user.permissions_boundary_arn = None
    return EmptyResult()


def _wrap_create_user(original):
    @functools.wraps(original)
    def create_user(self):
        boundary = self._get_param("PermissionsBoundary")
        if boundary:
            require_boundary_policy(self.backend, boundary)
        result = original(self)
        if boundary:
            self.backend.get_user(self._get_param("UserName")).permissions_boundary_arn = boundary
        return result

    return create_user


def _wrap_role_boundary_check(original):
    @functools.wraps(original)
    def method(self):
        boundary = self._get_param("PermissionsBoundary")
        if boundary:
            require_boundary_policy(self.backend, boundary)
        return original(self)

    return method


# ---------------------------------------------------------------- service-linked roles

# Role actions AWS refuses on a service-linked role (tagging stays allowed).
PROTECTED_ROLE_ACTIONS = [
    "attach_role_policy", "detach_role_policy", "put_role_policy", "delete_role_policy",
    "put_role_permissions_boundary", "delete_role_permissions_boundary",
    "update_assume_role_policy", "update_role", "update_role_description", "delete_role",
]


def _wrap_service_linked_guard(original):
    @functools.wraps(original)
    def method(self):
        role = self.backend.get_role(self._get_param("RoleName"))
        if role.path.startswith(SERVICE_LINKED_PATH):
            raise UnmodifiableEntity(
                f"Cannot perform the operation on the protected role '{role.name}' - "
                "this role is only modifiable by AWS")
        return original(self)

    return method


# ---------------------------------------------------------------- policy size


def check_managed_policy_size(document: str) -> None:
    if document and sum(1 for c in document if not c.isspace()) > MANAGED_POLICY_SIZE_QUOTA:
        raise LimitExceededException(
            f"Cannot exceed quota for PolicySize: {MANAGED_POLICY_SIZE_QUOTA}")


def _wrap_size_check(original, document_index: int):
    @functools.wraps(original)
    def method(self, *args, **kwargs):
        document = kwargs.get("policy_document", args[document_index] if len(args) > document_index else None)
        check_managed_policy_size(document)
        return original(self, *args, **kwargs)

    return method


# ---------------------------------------------------------------- role index


def _get_role(self, role_name: str):
    index = self.__dict__.setdefault("_iamsim_role_index", {})
    role = index.get(role_name)
    if role is not None and self.roles.get(role.id) is role and role.name == role_name:
        return role
    for role in self.roles.values():
        if role.name == role_name:
            index[role_name] = role
            return role
    raise NotFoundException(f"Role {role_name} not found")


# ---------------------------------------------------------------- authorization details


def _policy_detail(policy) -> dict:
    """ManagedPolicyDetail; moto's serializer finds no PolicyName/PolicyId on its objects."""
    return {
        "PolicyName": policy.name, "PolicyId": policy.id, "Arn": policy.arn,
        "Path": policy.path, "DefaultVersionId": policy.default_version_id,
        "AttachmentCount": policy.attachment_count, "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True, "Description": policy.description or None,
        "CreateDate": policy.create_date, "UpdateDate": policy.update_date,
        "PolicyVersionList": policy.policy_version_list,  # documents URL-encoded, as AWS
    }


def get_account_authorization_details(self) -> ActionResult:
    backend = self.backend
    wanted = set(self._get_param("Filter") or []) or {
        "User", "Group", "Role", "LocalManagedPolicy", "AWSManagedPolicy"}
    limit = max_items(self._get_param("MaxItems"))
    items: list[tuple[str, object]] = []
    if "User" in wanted:
        items += [("UserDetailList", u) for u in backend.users.values()]
    if "Group" in wanted:
        items += [("GroupDetailList", g) for g in backend.groups.values()]
    if "Role" in wanted:
        items += [("RoleDetailList", r) for r in backend.roles.values()]
    for policy in backend.managed_policies.values():
        aws = isinstance(policy, AWSManagedPolicy)
        # AWS lists AWS managed policies only where they are attached in the account.
        if (aws and "AWSManagedPolicy" in wanted and policy.attachment_count > 0) or (
                not aws and "LocalManagedPolicy" in wanted):
            items.append(("Policies", policy))
    chunk, paging = page(items, self._get_param("Marker"), limit)
    result: dict = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [],
                    "Policies": []}
    for key, obj in chunk:
        result[key].append(_policy_detail(obj) if key == "Policies" else obj)
    result.update(paging)
    return ActionResult(result)


def install() -> None:
    User.permissions_boundary_arn = None
    User.permissions_boundary = property(_user_boundary)
    IAMBackend.get_role = _get_role
    IAMBackend.create_policy = _wrap_size_check(IAMBackend.create_policy, 2)
    IAMBackend.create_policy_version = _wrap_size_check(IAMBackend.create_policy_version, 1)

    IamResponse.put_user_permissions_boundary = put_user_permissions_boundary
    IamResponse.delete_user_permissions_boundary = delete_user_permissions_boundary
    IamResponse.get_account_authorization_details = get_account_authorization_details
    IamResponse.create_user = _wrap_create_user(IamResponse.create_user)
    for name in ("put_role_permissions_boundary", "create_role"):
        setattr(IamResponse, name, _wrap_role_boundary_check(getattr(IamResponse, name)))
    for name in PROTECTED_ROLE_ACTIONS:
        setattr(IamResponse, name, _wrap_service_linked_guard(getattr(IamResponse, name)))

    transformers = dict(IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER)
    transformers["GetUserResponse.User.PermissionsBoundary"] = return_if_not_empty
    transformers["GetUserResponse.User.Tags"] = return_if_not_empty
    transformers["CreateUserResponse.User.PermissionsBoundary"] = return_if_not_empty
    # AWS URL-encodes every policy document in GetAccountAuthorizationDetails.
    transformers["GetAccountAuthorizationDetailsResponse.RoleDetailList.RoleDetail."
                 "AssumeRolePolicyDocument"] = url_encode
    IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER = transformers
