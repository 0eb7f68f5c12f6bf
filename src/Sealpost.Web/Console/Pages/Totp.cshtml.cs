using Microsoft.AspNetCore.Mvc;
using QRCoder;

namespace Sealpost.Web.Console.Pages;

/// <summary>
/// TOTP enrolment: a secret shown as a QR code (and as text), confirmed with a code from the device, then
/// ten recovery codes shown once. Required before any role above user works; optional for users.
/// </summary>
public sealed class TotpModel(ConsoleText text) : ConsolePage(text)
{
    protected override bool AllowsRestricted => true;

    [BindProperty]
    public string? Code { get; set; }

    /// <summary>The secret being enrolled, carried back with the confirmation only to show it again after a wrong code.</summary>
    [BindProperty]
    public string? Secret { get; set; }

    public bool Enrolled { get; private set; }

    public string? QrDataUri { get; private set; }

    public IReadOnlyList<string>? RecoveryCodes { get; private set; }

    public async Task OnGetAsync() => Enrolled = await Api.Access.HasSecondFactorAsync(Principal!.Account, HttpContext.RequestAborted);

    public async Task<IActionResult> OnPostBeginAsync()
    {
        if (await TryAsync(async () =>
        {
            var enrolment = await Api.Access.BeginTotpEnrolmentAsync(Principal!, HttpContext.RequestAborted);
            Show(enrolment.Secret, enrolment.Uri);
        }))
        {
            return Page();
        }

        Enrolled = await Api.Access.HasSecondFactorAsync(Principal!.Account, HttpContext.RequestAborted);
        return Page();
    }

    public async Task<IActionResult> OnPostConfirmAsync()
    {
        if (string.IsNullOrWhiteSpace(Code))
        {
            ModelState.AddModelError(nameof(Code), T["Field.Required"]);
        }
        else if (await TryAsync(async () => RecoveryCodes = await Api.Access.ConfirmTotpEnrolmentAsync(Principal!, Code.Trim(), HttpContext.RequestAborted), nameof(Code)))
        {
            return Page();
        }

        if (Secret is { Length: > 0 and <= 64 } secret && secret.All(char.IsAsciiLetterOrDigit))
        {
            Show(secret, $"otpauth://totp/Sealpost:{Uri.EscapeDataString(Principal!.Account.Address.ToString())}?secret={secret}&issuer=Sealpost");
        }

        return Page();
    }

    private void Show(string secret, string uri)
    {
        Secret = secret;
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(uri, QRCodeGenerator.ECCLevel.M);
        QrDataUri = "data:image/png;base64," + Convert.ToBase64String(new PngByteQRCode(data).GetGraphic(6));
    }
}
