using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Sealpost.Core.Access;
using Sealpost.Core.Directory;

namespace Sealpost.Web.Endpoints;

/// <summary>Tenants, domains, accounts (with cursor pages and version checks), roles, aliases, groups, lockouts.</summary>
internal static class DirectoryEndpoints
{
    public static void Map(RouteGroupBuilder api, ApiContext ctx)
    {
        api.MapGet("/tenants", async (HttpContext http, CancellationToken _) =>
            Results.Json(Paging.Of(await ctx.Directory.ListTenantsAsync(http.Principal().Actor, http.RequestAborted), t => t.Name,
                t => new TenantResponse(t.Name, t.DisplayName, t.CreatedAt), http, ctx.MaxPageSize), ApiPipeline.Json))
            .Requires(Operation.TenantList).Produces<Page<TenantResponse>>();

        api.MapPost("/tenants", async (HttpContext http, CancellationToken _) =>
        {
            var request = await http.Body<TenantRequest>(ctx.MaxRequestBodyBytes);
            var tenant = await ctx.Directory.AddTenantAsync(http.Principal().Actor, request.Name, request.DisplayName, http.RequestAborted);
            return Results.Json(new TenantResponse(tenant.Name, tenant.DisplayName, tenant.CreatedAt), ApiPipeline.Json, statusCode: 201);
        }).Requires(Operation.TenantCreate).Accepts<TenantRequest>("application/json").Produces<TenantResponse>(201);

        api.MapGet("/domains", async (HttpContext http, CancellationToken _) =>
        {
            var actor = http.Principal().Actor;
            var domains = await ctx.Directory.ListDomainsAsync(actor, http.RequestAborted);
            var tenants = await TenantNamesAsync(ctx, actor, http.RequestAborted);
            return Results.Json(Paging.Of(domains, d => d.Name.Ascii, d => new DomainResponse(d.Name.ToString(), tenants.GetValueOrDefault(d.TenantId, ""), d.CreatedAt), http, ctx.MaxPageSize),
                ApiPipeline.Json);
        }).Requires(Operation.DomainList).Produces<Page<DomainResponse>>();

        api.MapPost("/domains", async (HttpContext http, CancellationToken _) =>
        {
            var request = await http.Body<DomainRequest>(ctx.MaxRequestBodyBytes);
            var domain = await ctx.Directory.AddDomainAsync(http.Principal().Actor, request.Name, request.Tenant, http.RequestAborted);
            return Results.Json(new DomainResponse(domain.Name.ToString(), request.Tenant, domain.CreatedAt), ApiPipeline.Json, statusCode: 201);
        }).Requires(Operation.DomainAdd).Accepts<DomainRequest>("application/json").Produces<DomainResponse>(201);

        api.MapGet("/domains/{name}/dns", async (HttpContext http, string name) =>
            Results.Json((await ctx.Dkim.RecordsAsync(http.Principal().Actor, name, ctx.Hostname, http.RequestAborted))
                .Select(r => new DomainRecordResponse(r.Purpose, r.Name, r.Type, r.Value, r.ZoneLine)).ToList(), ApiPipeline.Json))
            .Requires(Operation.DomainList).Produces<List<DomainRecordResponse>>();

        api.MapGet("/domains/{name}/dkim", async (HttpContext http, string name) =>
        {
            var keys = await ctx.Dkim.ShowAsync(http.Principal().Actor, name, http.RequestAborted);
            return Results.Json(Dto.Dkim(keys.Active, keys.Previous), ApiPipeline.Json);
        }).Requires(Operation.DkimManage).Produces<DkimResponse>();

        api.MapPost("/domains/{name}/dkim", async (HttpContext http, string name) =>
        {
            var request = await http.Body<DkimRequest>(ctx.MaxRequestBodyBytes);
            var actor = http.Principal().Actor;
            var key = request.Rotate
                ? await ctx.Dkim.RotateAsync(actor, name, request.Algorithm, request.Selector, http.RequestAborted)
                : await ctx.Dkim.CreateAsync(actor, name, request.Algorithm, request.Selector, http.RequestAborted, request.PrivateKeyPem);
            var keys = await ctx.Dkim.ShowAsync(actor, name, http.RequestAborted);
            return Results.Json(Dto.Dkim(key, keys.Previous), ApiPipeline.Json, statusCode: 201);
        }).Requires(Operation.DkimManage).Accepts<DkimRequest>("application/json").Produces<DkimResponse>(201);

        api.MapDelete("/domains/{name}", async (HttpContext http, string name) =>
        {
            await ctx.Directory.RemoveDomainAsync(http.Principal().Actor, name, http.RequestAborted);
            return Results.NoContent();
        }).Requires(Operation.DomainRemove);

        // ---- accounts ----

        api.MapGet("/accounts", async (HttpContext http, [FromQuery] string? domain, [FromQuery] int? limit, [FromQuery] string? cursor) =>
        {
            var size = limit ?? 100;
            if (size < 1 || size > ctx.MaxPageSize)
            {
                throw ApiInputException.Field("limit", $"between 1 and {ctx.MaxPageSize}");
            }

            var after = cursor is null ? null : Paging.Decode(cursor);
            var page = await ctx.Directory.ListAccountsPageAsync(http.Principal().Actor, domain, after, size, http.RequestAborted);
            var next = page.Count == size ? Paging.Encode(page[^1].Account.Address.Key) : null;
            return Results.Json(new Page<AccountResponse>(page.Select(Dto.Account).ToList(), next), ApiPipeline.Json);
        }).Requires(Operation.AccountList).Produces<Page<AccountResponse>>();

        api.MapPost("/accounts", async (HttpContext http, CancellationToken _) =>
        {
            var request = await http.Body<AccountRequest>(ctx.MaxRequestBodyBytes);
            var actor = http.Principal().Actor;
            PasswordOrEnrolment(request.Password, request.Enrol, "password");

            Core.Directory.Account account;
            EnrolmentTokenResponse? enrolment = null;
            if (request.Enrol)
            {
                var (created, token, expires) = await ctx.Directory.AddUserForEnrolmentAsync(actor, request.Address, request.DisplayName, request.QuotaBytes ?? ctx.DefaultQuotaBytes, ct: http.RequestAborted);
                (account, enrolment) = (created, new EnrolmentTokenResponse(token, expires));
            }
            else
            {
                account = await ApiPipeline.ForField("password", () => ctx.Directory.AddUserAsync(actor, request.Address, request.Password!, request.DisplayName, request.QuotaBytes ?? ctx.DefaultQuotaBytes, ct: http.RequestAborted));
            }

            var summary = await ctx.Directory.GetAccountAsync(actor, account.Address.ToString(), http.RequestAborted);
            http.Response.Headers.ETag = Dto.ETag(summary.Account.CredentialVersion);
            http.Response.Headers.Location = "/api/v1/accounts/" + Uri.EscapeDataString(account.Address.ToString());
            http.Response.Headers.CacheControl = "no-store"; // it may carry the enrolment token
            return Results.Json(Dto.Account(summary) with { Enrolment = enrolment }, ApiPipeline.Json, statusCode: 201);
        }).Requires(Operation.AccountCreate).Accepts<AccountRequest>("application/json").Produces<AccountResponse>(201);

        api.MapGet("/accounts/{address}", async (HttpContext http, string address) =>
        {
            var summary = await ctx.Directory.GetAccountAsync(http.Principal().Actor, address, http.RequestAborted);
            http.Response.Headers.ETag = Dto.ETag(summary.Account.CredentialVersion);
            return Results.Json(Dto.Account(summary), ApiPipeline.Json);
        }).Requires(Operation.AccountList).Produces<AccountResponse>();

        api.MapMethods("/accounts/{address}", ["PATCH"], async (HttpContext http, string address) =>
        {
            // RFC 9110 §13.1.1: a change names the version it was made against, so two admins cannot overwrite each other.
            var ifMatch = http.Request.Headers.IfMatch.ToString();
            if (ifMatch.Length == 0)
            {
                throw new ApiInputException(StatusCodes.Status428PreconditionRequired, "precondition-required", "If-Match required",
                    "send If-Match with the ETag from GET /api/v1/accounts/{address}");
            }

            var request = await http.Body<AccountPatch>(ctx.MaxRequestBodyBytes);
            var actor = http.Principal().Actor;
            var current = await ctx.Directory.GetAccountAsync(actor, address, http.RequestAborted);
            if (ifMatch.Trim().TrimStart('W', '/') != Dto.ETag(current.Account.CredentialVersion))
            {
                throw new ApiInputException(StatusCodes.Status412PreconditionFailed, "precondition-failed", "Changed since read",
                    "the account changed since you read it; GET it again and retry");
            }

            await ctx.Directory.UpdateAccountAsync(actor, address, request.DisplayName, request.QuotaBytes, current.Account.CredentialVersion, http.RequestAborted);
            var updated = await ctx.Directory.GetAccountAsync(actor, address, http.RequestAborted);
            http.Response.Headers.ETag = Dto.ETag(updated.Account.CredentialVersion);
            return Results.Json(Dto.Account(updated), ApiPipeline.Json);
        }).Requires(Operation.AccountUpdate).Accepts<AccountPatch>("application/json").Produces<AccountResponse>();

        api.MapPost("/accounts/{address}/suspend", (HttpContext http, string address) => SetState(ctx, http, address, AccountState.Suspended))
            .Requires(Operation.AccountSetState);
        api.MapPost("/accounts/{address}/activate", (HttpContext http, string address) => SetState(ctx, http, address, AccountState.Active))
            .Requires(Operation.AccountSetState);
        api.MapDelete("/accounts/{address}", (HttpContext http, string address) => SetState(ctx, http, address, AccountState.Deleted))
            .Requires(Operation.AccountSetState);

        api.MapPost("/accounts/{address}/shred", async (HttpContext http, string address) =>
        {
            await ctx.Directory.ShredAccountAsync(http.Principal().Actor, address, http.RequestAborted);
            return Results.NoContent();
        }).Requires(Operation.AccountShred);

        api.MapPost("/accounts/{address}/password-reset", async (HttpContext http, string address) =>
        {
            var request = await http.Body<PasswordResetRequest>(ctx.MaxRequestBodyBytes);
            PasswordOrEnrolment(request.NewPassword, request.Enrol, "newPassword");

            if (request.Enrol)
            {
                var (token, expires) = await ctx.Directory.ResetForEnrolmentAsync(http.Principal().Actor, address, http.RequestAborted);
                http.Response.Headers.CacheControl = "no-store";
                return Results.Json(new EnrolmentTokenResponse(token, expires), ApiPipeline.Json);
            }

            await ApiPipeline.ForField("newPassword", () => ctx.Directory.SetPasswordAsync(http.Principal().Actor, address, request.NewPassword!, null, http.RequestAborted));
            return Results.NoContent();
        }).Requires(Operation.AccountPasswordReset).Accepts<PasswordResetRequest>("application/json");

        api.MapDelete("/accounts/{address}/second-factor", async (HttpContext http, string address) =>
        {
            await ctx.Access.RemoveSecondFactorAsync(http.Principal().Actor, address, http.RequestAborted);
            return Results.NoContent();
        }).Requires(Operation.AccountSecondFactorReset);

        // ---- roles ----

        api.MapGet("/roles", async (HttpContext http, CancellationToken _) =>
            Results.Json(Paging.Of(await ctx.Directory.ListRoleHoldersAsync(http.Principal().Actor, http.RequestAborted), a => a.Address.Key,
                a => new RoleHolderResponse(a.Address.ToString(), Dto.Roles(a.Roles)), http, ctx.MaxPageSize), ApiPipeline.Json))
            .Requires(Operation.RoleList).Produces<Page<RoleHolderResponse>>();

        api.MapPut("/accounts/{address}/roles/{role}", async (HttpContext http, string address, string role) =>
        {
            await ctx.Directory.GrantRoleAsync(http.Principal().Actor, address, AccessEndpoints.ParseRole(role), http.RequestAborted);
            return Results.NoContent();
        }).Requires(Operation.RoleGrant);

        api.MapDelete("/accounts/{address}/roles/{role}", async (HttpContext http, string address, string role) =>
        {
            await ctx.Directory.RevokeRoleAsync(http.Principal().Actor, address, AccessEndpoints.ParseRole(role), http.RequestAborted);
            return Results.NoContent();
        }).Requires(Operation.RoleRevoke);

        // ---- aliases and groups ----

        api.MapGet("/aliases", async (HttpContext http, CancellationToken _) =>
            Results.Json(Paging.Of(await ctx.Directory.ListAliasesAsync(http.Principal().Actor, http.RequestAborted), a => a.Address.Key,
                a => new AliasResponse(a.Address.ToString(), a.AliasTarget?.ToString()), http, ctx.MaxPageSize), ApiPipeline.Json))
            .Requires(Operation.AliasList).Produces<Page<AliasResponse>>();

        api.MapPost("/aliases", async (HttpContext http, CancellationToken _) =>
        {
            var request = await http.Body<AliasRequest>(ctx.MaxRequestBodyBytes);
            await ctx.Directory.AddAliasAsync(http.Principal().Actor, request.Alias, request.Target, http.RequestAborted);
            return Results.Json(new AliasResponse(request.Alias.Trim(), request.Target.Trim()), ApiPipeline.Json, statusCode: 201);
        }).Requires(Operation.AliasAdd).Accepts<AliasRequest>("application/json").Produces<AliasResponse>(201);

        api.MapDelete("/aliases/{alias}", async (HttpContext http, string alias) =>
        {
            await ctx.Directory.RemoveAliasAsync(http.Principal().Actor, alias, http.RequestAborted);
            return Results.NoContent();
        }).Requires(Operation.AliasRemove);

        api.MapGet("/groups", async (HttpContext http, CancellationToken _) =>
            Results.Json(Paging.Of(await ctx.Directory.ListGroupsAsync(http.Principal().Actor, null, http.RequestAborted), g => g.Group.Address.Key,
                g => new GroupResponse(g.Group.Address.ToString(), g.Group.DisplayName,
                    g.Members.Select(m => new GroupMemberResponse(m.Address.ToString(), m.Kind?.ToString().ToLowerInvariant() ?? "remote")).ToList()), http, ctx.MaxPageSize), ApiPipeline.Json))
            .Requires(Operation.GroupList).Produces<Page<GroupResponse>>();

        api.MapPost("/groups", async (HttpContext http, CancellationToken _) =>
        {
            var request = await http.Body<GroupRequest>(ctx.MaxRequestBodyBytes);
            var group = await ctx.Directory.AddGroupAsync(http.Principal().Actor, request.Address, request.DisplayName, http.RequestAborted);
            return Results.Json(new GroupResponse(group.Address.ToString(), group.DisplayName, []), ApiPipeline.Json, statusCode: 201);
        }).Requires(Operation.GroupCreate).Accepts<GroupRequest>("application/json").Produces<GroupResponse>(201);

        api.MapPut("/groups/{address}/members/{member}", async (HttpContext http, string address, string member) =>
        {
            await ctx.Directory.AddGroupMemberAsync(http.Principal().Actor, address, member, http.RequestAborted);
            return Results.NoContent();
        }).Requires(Operation.GroupMembersChange);

        api.MapDelete("/groups/{address}/members/{member}", async (HttpContext http, string address, string member) =>
        {
            await ctx.Directory.RemoveGroupMemberAsync(http.Principal().Actor, address, member, http.RequestAborted);
            return Results.NoContent();
        }).Requires(Operation.GroupMembersChange);

        // ---- lockouts ----

        api.MapGet("/lockouts", async (HttpContext http, CancellationToken _) =>
            Results.Json(Paging.Of(await ctx.Directory.ListLockoutsAsync(http.Principal().Actor, http.RequestAborted), l => l.Kind + ":" + l.Subject,
                l => new LockoutResponse(l.Kind, l.Subject, l.Failures, l.Until), http, ctx.MaxPageSize), ApiPipeline.Json))
            .Requires(Operation.LockoutList).Produces<Page<LockoutResponse>>();

        api.MapDelete("/lockouts/{address}", async (HttpContext http, string address) =>
        {
            await ctx.Directory.UnlockAsync(http.Principal().Actor, address, http.RequestAborted);
            return Results.NoContent();
        }).Requires(Operation.LockoutUnlock);
    }

    private static async Task<IResult> SetState(ApiContext ctx, HttpContext http, string address, AccountState state)
    {
        await ctx.Directory.SetStateAsync(http.Principal().Actor, address, state, http.RequestAborted);
        return Results.NoContent();
    }

    private static async Task<Dictionary<long, string>> TenantNamesAsync(ApiContext ctx, Actor actor, CancellationToken ct)
    {
        try
        {
            return (await ctx.Directory.ListTenantsAsync(actor, ct)).ToDictionary(t => t.Id, t => t.Name);
        }
        catch (Sealpost.Core.SealpostException ex) when (ex.Kind == Sealpost.Core.ErrorKind.Forbidden)
        {
            return [];
        }
    }

    /// <summary>An account gets a password (provisional until its owner changes it) or an enrolment token: exactly one.</summary>
    private static void PasswordOrEnrolment(string? password, bool enrol, string field)
    {
        if (enrol == (password is not null))
        {
            throw new ApiInputException(StatusCodes.Status422UnprocessableEntity, "invalid", "Invalid value",
                $"give either a {field} (provisional until the owner changes it) or \"enrol\": true (a one-time token the person redeems)",
                new Dictionary<string, string[]> { [field] = [$"give a {field} or \"enrol\": true, not both"] });
        }
    }
}
