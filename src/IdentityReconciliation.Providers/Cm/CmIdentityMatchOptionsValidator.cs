using Microsoft.Extensions.Options;

namespace IdentityReconciliation.Providers.Cm;

/// <summary>Source-generated validation of <see cref="CmIdentityMatchOptions"/> (data annotations and custom checks).</summary>
[OptionsValidator]
internal sealed partial class CmIdentityMatchOptionsValidator : IValidateOptions<CmIdentityMatchOptions>
{
}
