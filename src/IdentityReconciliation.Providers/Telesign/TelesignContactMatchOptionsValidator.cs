using Microsoft.Extensions.Options;

namespace IdentityReconciliation.Providers.Telesign;

/// <summary>Source-generated validation of <see cref="TelesignContactMatchOptions"/> (data annotations and custom checks).</summary>
[OptionsValidator]
internal sealed partial class TelesignContactMatchOptionsValidator : IValidateOptions<TelesignContactMatchOptions>
{
}
