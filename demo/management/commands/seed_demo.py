"""Load a believable demo county: 青阳县 with its departments, two townships (柳林镇 with a
dozen villages and its stations, and the small 桃源镇), a person in every role sharing one
known password, and a few hundred disputes and petitions in every stage.

Every case is registered with workflow.services.report_case() and moved with
workflow.services.transition(), by the person who would do it, at backdated moments: the
audit trail, the clocks and the notifications are exactly what real use would have left,
and cases left too long in an open stage are overdue now, as they would be.
"""

from __future__ import annotations

import random
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from cases.models import Case, Membership, OrgUnit, Role, ScreeningReturn
from cases.periods import parse_month
from cases.validators import id_check_char
from screening import returns as screening
from workflow import counts, services
from workflow.errors import CaseOperationError
from workflow.models import Deadline
from workflow.refdata import invalidate_all
from workflow.return_clocks import open_return_deadlines, return_clock

DEFAULT_PASSWORD = "tiaochu-demo"
# Cases are spread over this many days before now.
WINDOW_DAYS = 150
PETITION_SHARE = 0.3
RESPONDENT_BIRTH_YEARS = (1958, 1996)

L = OrgUnit.Level
S = Case.Stage

ROLE_ZH = {
    Role.REPORTER: "网格员",
    Role.MEDIATOR: "调解员",
    Role.OFFICER: "经办人",
    Role.SUPERVISOR: "督办领导",
    Role.LIAISON: "部门联络员",
    Role.VIEWER: "只读查看",
}
STAGE_ZH = {
    S.REPORTED: "已登记",
    S.INVESTIGATING: "调查核实",
    S.MEDIATING: "调解中",
    S.RESOLVED: "已化解",
    S.ESCALATED: "已上报",
    S.CLOSED: "已办结",
}
CLOSURE_ZH = {
    Case.Closure.VISITED: "回访办结",
    Case.Closure.REFERRED: "移交",
    Case.Closure.REJECTED: "不予受理",
    Case.Closure.WITHDRAWN: "撤回",
}


# ---------------------------------------------------------------------------------------
# The county: units and the people in them.


@dataclass(frozen=True)
class Staff:
    username: str
    name: str
    role: str


@dataclass(frozen=True)
class DeptSpec:
    suffix: str
    name: str
    # What the department handles; routing by 谁主管谁负责 looks departments up by key.
    key: str
    liaison: Staff


@dataclass(frozen=True)
class VillageSpec:
    suffix: str
    name: str
    worker: Staff


@dataclass(frozen=True)
class TownshipSpec:
    suffix: str
    name: str
    short: str
    staff: tuple[Staff, ...]
    villages: tuple[VillageSpec, ...]
    departments: tuple[DeptSpec, ...]
    # Share of the cases that happen here.
    weight: float


COUNTY_CODE, COUNTY_NAME = "QY", "青阳县"
COUNTY_STAFF = (
    Staff("xian_zzb", "沈卫国", Role.OFFICER),
    Staff("xian_xf", "何晓燕", Role.OFFICER),
    Staff("xian_ld", "韩振华", Role.SUPERVISOR),
    Staff("xian_tj", "程淑芳", Role.MEDIATOR),
    Staff("ck_xian", "邹文静", Role.VIEWER),
)
COUNTY_DEPARTMENTS = (
    DeptSpec("XFJ", "县信访局", "petition", Staff("lx_xfj", "罗建平", Role.LIAISON)),
    DeptSpec("RSJ", "县人社局", "hr", Staff("lx_rsj", "唐海军", Role.LIAISON)),
    DeptSpec("ZRZYJ", "县自然资源局", "resources", Staff("lx_zrzyj", "姚志刚", Role.LIAISON)),
    DeptSpec("WJJ", "县卫健局", "health_bureau", Staff("lx_wjj", "梁晓红", Role.LIAISON)),
    DeptSpec("JYJ", "县教育局", "education", Staff("lx_jyj", "蒋德胜", Role.LIAISON)),
    DeptSpec("YJJ", "县应急管理局", "emergency", Staff("lx_yjj", "郝立军", Role.LIAISON)),
    DeptSpec("STHJ", "县生态环境分局", "environment", Staff("lx_sthj", "龚海燕", Role.LIAISON)),
    DeptSpec("NYNCJ", "县农业农村局", "agriculture", Staff("lx_nyj", "魏长青", Role.LIAISON)),
)
TOWNSHIPS = (
    TownshipSpec(
        "LL",
        "柳林镇",
        "柳林",
        staff=(
            Staff("zzb_li", "李明", Role.OFFICER),
            Staff("zzb_zhou", "周芳", Role.OFFICER),
            Staff("zzb_zhuren", "吴建华", Role.SUPERVISOR),
            Staff("fg_zhen", "陈志远", Role.SUPERVISOR),
            Staff("tj_wang", "王德明", Role.MEDIATOR),
            Staff("tj_zhao", "赵桂兰", Role.MEDIATOR),
            Staff("tj_chen", "陈国庆", Role.MEDIATOR),
            Staff("ck_viewer", "孙丽", Role.VIEWER),
        ),
        villages=(
            VillageSpec("DW", "东湾村", Staff("wg_dongwan", "张秀梅", Role.REPORTER)),
            VillageSpec("XL", "西岭村", Staff("wg_xiling", "徐志强", Role.REPORTER)),
            VillageSpec("SQ", "柳林社区", Staff("wg_liulin", "胡丽娟", Role.REPORTER)),
            VillageSpec("HK", "河口村", Staff("wg_hekou", "许大勇", Role.REPORTER)),
            VillageSpec("QT", "桥头村", Staff("wg_qiaotou", "曹红霞", Role.REPORTER)),
            VillageSpec("WZ", "王庄村", Staff("wg_wangzhuang", "王卫东", Role.REPORTER)),
            VillageSpec("SM", "石门村", Staff("wg_shimen", "潘玉兰", Role.REPORTER)),
            VillageSpec("XT", "新塘村", Staff("wg_xintang", "董俊杰", Role.REPORTER)),
            VillageSpec("HNG", "黄泥岗村", Staff("wg_huangnigang", "宋桂芳", Role.REPORTER)),
            VillageSpec("CH", "长湖村", Staff("wg_changhu", "汪满仓", Role.REPORTER)),
            VillageSpec("NW", "南圩村", Staff("wg_nanwei", "钱双喜", Role.REPORTER)),
            VillageSpec("YL", "杨柳村", Staff("wg_yangliu", "夏雪梅", Role.REPORTER)),
        ),
        departments=(
            DeptSpec("PCS", "柳林派出所", "police", Staff("lx_pcs", "刘洪涛", Role.LIAISON)),
            DeptSpec("SFS", "柳林司法所", "justice", Staff("lx_sfs", "杨静", Role.LIAISON)),
            DeptSpec("LDBZ", "柳林镇劳动保障所", "labour", Staff("lx_ldbz", "黄永福", Role.LIAISON)),
            DeptSpec("GTS", "柳林国土所", "land", Staff("lx_gts", "朱立平", Role.LIAISON)),
            DeptSpec("WSY", "柳林镇卫生院", "health", Staff("lx_wsy", "林秀英", Role.LIAISON)),
            DeptSpec("ZXXX", "柳林中心学校", "school", Staff("lx_zxxx", "郭文斌", Role.LIAISON)),
            DeptSpec("NYZ", "柳林镇农业综合服务站", "agri", Staff("lx_nyz", "马春生", Role.LIAISON)),
            DeptSpec("SLZ", "柳林镇水利站", "water", Staff("lx_slz", "高长林", Role.LIAISON)),
            DeptSpec("AJZ", "柳林镇安监站", "safety", Staff("lx_ajz", "谢宏伟", Role.LIAISON)),
        ),
        weight=0.86,
    ),
    TownshipSpec(
        "TY",
        "桃源镇",
        "桃源",
        staff=(
            Staff("ty_zzb", "田国强", Role.OFFICER),
            Staff("ty_zhuren", "彭建军", Role.SUPERVISOR),
            Staff("ty_tj", "蔡美华", Role.MEDIATOR),
        ),
        villages=(
            VillageSpec("NS", "南山村", Staff("wg_nanshan", "余有才", Role.REPORTER)),
            VillageSpec("SQ", "桃源社区", Staff("wg_taoyuan", "邓海燕", Role.REPORTER)),
            VillageSpec("SL", "三里村", Staff("wg_sanli", "冯长生", Role.REPORTER)),
        ),
        departments=(
            DeptSpec("PCS", "桃源派出所", "police", Staff("lx_ty_pcs", "袁志军", Role.LIAISON)),
            DeptSpec("SFS", "桃源司法所", "justice", Staff("lx_ty_sfs", "江淑珍", Role.LIAISON)),
        ),
        weight=0.14,
    ),
)
# A township without its own station hands the matter to the county department.
COUNTY_KEY_FOR = {
    "labour": "hr",
    "land": "resources",
    "agri": "agriculture",
    "water": "agriculture",
    "safety": "emergency",
    "health": "health_bureau",
    "school": "education",
    "police": "petition",
    "justice": "petition",
}

# ---------------------------------------------------------------------------------------
# What the cases are about: templates in the essay's kinds of trouble.


@dataclass(frozen=True)
class Template:
    key: str
    kind: str
    category: str
    weight: float
    title: str
    summary: str
    # Lead departments by key, most fitting first.
    lead: tuple[str, ...]
    amount: tuple[int, int] | None = None
    people: tuple[int, int] = (1, 2)
    group: float = 0.0
    legacy: float = 0.0
    repeat: float = 0.0
    petition_type: str = ""
    # "person", or an organisation's name (a format string), or "" for petitions.
    respondent: str = "person"
    sources: tuple[str, ...] = ()
    villages: tuple[str, ...] = ()
    # Probabilities of 较大 and 重大 risk.
    risk: tuple[float, float] = (0.05, 0.0)
    # "female" or "male" when the story needs it, else either.
    applicant: str = ""
    # A relative of the applicant named in the story ({kin}) shares their surname,
    # except a husband.
    kin_is_spouse: bool = False
    birth_years: tuple[int, int] = (1950, 1998)
    accuses_village: bool = False


DISPUTE, PETITION = Case.Kind.DISPUTE, Case.Kind.PETITION
WATER_VILLAGES = ("长湖村", "南圩村", "河口村")
TOWN_VILLAGES = ("柳林社区", "桥头村", "新塘村", "王庄村", "桃源社区", "三里村")

TEMPLATES: tuple[Template, ...] = (
    # 土地流转 and 山林
    Template(
        "land_rent", DISPUTE, "land_forest", 10,
        "{village}{a}与{b}土地流转租金纠纷",
        "{village}村民{a}反映，其家{mu}亩承包地于{year}年经村委会流转给种植大户{b}经营，约定每亩每年租金"
        "{rent}元。{b}以去年粮价下跌、经营亏损为由拖欠租金{amount}元至今未付，{a}多次讨要未果，扬言要把田里"
        "的庄稼翻掉。",
        ("agri", "land"), amount=(3000, 60000),
    ),
    Template(
        "land_renewal", DISPUTE, "land_forest", 5,
        "{village}{grp}组{n}户村民与{company}土地流转合同纠纷",
        "{village}{grp}组{n}户村民共{mu}亩承包地于{year}年整体流转给{company}种植苗木，合同约定租金每三年递增"
        "一次。现公司未按约递增并拖欠上年度租金{amount}元，部分村民要求解除合同、收回土地，公司称苗木尚未出圃、"
        "无力退地，双方对峙。",
        ("agri", "land"), amount=(40000, 300000), people=(8, 60), group=1.0, respondent="{company}",
        risk=(0.3, 0.0),
    ),
    Template(
        "land_boundary", DISPUTE, "land_forest", 4,
        "{village}{a}与{b}承包地界址纠纷",
        "{a}与{b}两家承包地相邻。{b}今年春耕时将田埂向{a}家一侧移动约一米，并在界边栽种杨树，{a}认为被侵占"
        "承包地约{fen}分，双方多次争吵，村里调解未果。",
        ("land", "agri"),
    ),
    Template(
        "forest_title", DISPUTE, "land_forest", 3,
        "{village}{a}与{b}山林权属纠纷",
        "双方对{village}后山一片约{mu}亩杉木林的权属各执一词。{a}持有1983年林业“三定”时颁发的山林权证，"
        "{b}称该片林地系其祖辈所栽且一直由其管护。近期{b}雇人砍伐林木，引发冲突。",
        ("land", "agri"), legacy=0.5,
    ),
    # 水面发包
    Template(
        "water_recontract", DISPUTE, "water_contracting", 6,
        "{village}{lake}水面发包纠纷",
        "{village}村委会将{lake}约{mu}亩水面重新公开发包，由{b}以每年{amount}元中标。原承包人{a}认为其享有"
        "同等条件下的优先承包权，且塘内存鱼尚未起捕，拒绝退出水面，双方在塘埂上发生推搡。",
        ("water", "agri"), amount=(20000, 200000), villages=WATER_VILLAGES, risk=(0.2, 0.0),
    ),
    Template(
        "fishpond_fee", DISPUTE, "water_contracting", 4,
        "{village}{a}鱼塘承包费减免纠纷",
        "承包户{a}称，今年汛期{lake}水位暴涨，塘埂被冲毁，放养的鱼苗大量逃失，损失约{loss}元，要求村委会减免"
        "当年承包费{amount}元，村委会以合同未约定为由不同意，{a}拒交承包费。",
        ("water", "agri"), amount=(5000, 40000), respondent="{village}村民委员会", villages=WATER_VILLAGES,
    ),
    Template(
        "irrigation", DISPUTE, "water_contracting", 2,
        "{village}{grp}组灌溉用水纠纷",
        "今年夏季干旱，{village}{grp}组与相邻组共用的当家塘放水灌溉次序发生争议，{a}等人夜间私自开闸放水，"
        "双方{n}余名村民发生口角，险些引发械斗。",
        ("water", "agri"), people=(10, 40), group=1.0, risk=(0.3, 0.0),
    ),
    # 征地拆迁
    Template(
        "demolition", DISPUTE, "land_acquisition", 5,
        "{village}{a}房屋征收补偿纠纷",
        "因{project}建设需要，{a}家位于{village}{grp}组的两层砖混结构住房（约{area}平方米）被列入征收范围。"
        "{a}对评估公司作出的评估价格有异议，认为偏低，要求按集镇商品房价格补偿并增加安置面积，拒绝签订征收"
        "补偿协议。",
        ("land",), amount=(80000, 600000), respondent="{project}征迁指挥部", villages=TOWN_VILLAGES,
        risk=(0.2, 0.0),
    ),
    Template(
        "crop_compensation", DISPUTE, "land_acquisition", 3,
        "{village}{n}名村民青苗补偿纠纷",
        "{project}施工单位进场施工，占用{village}{grp}组耕地约{mu}亩，青苗补偿费及地上附着物补偿款共计{amount}"
        "元未兑付到户。{a}等{n}名村民阻挠施工，要求先补偿后施工。",
        ("land",), amount=(50000, 400000), people=(20, 150), group=1.0, respondent="{project}施工单位",
        villages=TOWN_VILLAGES, risk=(0.5, 0.1),
    ),
    # 劳资工伤
    Template(
        "wage_arrears", DISPUTE, "labour", 7,
        "{company}拖欠{n}名农民工工资纠纷",
        "{a}等{n}名农民工反映，在{company}承建的{project}从事木工、钢筋工等工作，工程已于{month}月完工，公司"
        "以工程款未结算为由拖欠工资共计{amount}元。农民工情绪激动，扬言到县政府上访。",
        ("labour",), amount=(30000, 600000), people=(5, 45), group=1.0, respondent="{company}",
        sources=("visit", "12345", "phone", "screening"), risk=(0.4, 0.03),
    ),
    Template(
        "wage_single", DISPUTE, "labour", 4,
        "{a}与{b}劳务报酬纠纷",
        "{a}在{b}承包的{project}做小工{days}天，约定每天{daily}元，{b}以上面的工程款未到位为由拖欠工钱{amount}"
        "元，{a}多次讨要未果。",
        ("labour",), amount=(3000, 30000),
    ),
    Template(
        "work_injury", DISPUTE, "labour", 5,
        "{a}与{company}工伤赔偿纠纷",
        "{a}在{company}务工期间，操作切割机时被割伤左手，经鉴定为{grade}级伤残。公司未为其缴纳工伤保险，双方"
        "就一次性伤残补助金、停工留薪期工资等赔偿数额分歧较大。",
        ("labour",), amount=(50000, 400000), respondent="{company}", sources=("visit", "phone", "department"),
    ),
    # 安全事故
    Template(
        "work_accident", DISPUTE, "work_safety", 3,
        "{company}{accident}事故善后纠纷",
        "{date}，{company}{site}发生一起{accident}事故，工人{victim}经抢救无效死亡。死者家属{a}等十余人聚集在"
        "厂门口，要求赔偿{amount}元，并在厂区设灵堂，企业只同意按法定标准赔偿。",
        ("safety",), amount=(300000, 1500000), people=(10, 20), respondent="{company}",
        sources=("110", "phone", "department"), risk=(0.4, 0.4),
    ),
    Template(
        "quarry_injury", DISPUTE, "work_safety", 2,
        "{village}{a}在{company}受伤赔偿纠纷",
        "{a}在{company}采石场作业时被滚落的石块砸伤腿部，住院治疗{days}天，花去医疗费{amount}元，企业仅垫付"
        "部分医疗费后不再理会。",
        ("safety", "labour"), amount=(20000, 150000), respondent="{company}",
    ),
    # 医患纠纷
    Template(
        "medical_center", DISPUTE, "medical", 4,
        "{a}家属与{town}镇卫生院医疗纠纷",
        "患者{a}因{illness}到{town}镇卫生院就诊，输液治疗后病情加重，转县人民医院抢救。家属认为卫生院未及时"
        "转诊、延误治疗，要求赔偿{amount}元，多次到卫生院吵闹，影响正常诊疗秩序。",
        ("health_bureau",), amount=(50000, 500000), respondent="{town}镇卫生院",
        sources=("110", "visit", "phone"), risk=(0.4, 0.0),
    ),
    Template(
        "clinic", DISPUTE, "medical", 2,
        "{a}与{village}卫生室医疗纠纷",
        "{a}在{village}卫生室输液后出现过敏反应，经送医抢救脱离危险，花去医疗费{amount}元，要求卫生室承担全部"
        "费用并赔偿误工费。",
        ("health", "health_bureau"), amount=(5000, 60000), respondent="{village}卫生室",
    ),
    # 邻里、婚姻家庭、宅基地、交通、合同、消费、污染、物业、村务、损害赔偿、生产经营
    Template(
        "neighbours_drain", DISPUTE, "neighbours", 6,
        "{village}{a}与{b}排水纠纷",
        "{b}翻建住房时将地基抬高约半米，下雨时雨水直排{a}家院内，{a}找其理论，双方发生推搡，{a}妻子轻微"
        "受伤，派出所出警后移交调解。",
        ("justice", "police"), sources=("screening", "110", "police"), applicant="male",
    ),
    Template(
        "neighbours_road", DISPUTE, "neighbours", 4,
        "{village}{a}与{b}通行纠纷",
        "{a}家出入必须经过{b}家门前的一条小路。{b}以小路占用其自留地为由砌墙堵路，{a}家农用车无法通行，双方"
        "矛盾激化。",
        ("justice",),
    ),
    Template(
        "livestock", DISPUTE, "damages", 3,
        "{village}{a}与{b}财产损害赔偿纠纷",
        "{a}家散养的鸡鸭多次进入{b}家菜地啄食秧苗，{b}在菜地投放农药致{a}家家禽死亡二十余只，{a}要求赔偿"
        "{amount}元。",
        ("justice", "police"), amount=(500, 8000),
    ),
    Template(
        "family_support", DISPUTE, "marriage_family", 5,
        "{village}{a}赡养纠纷",
        "{a}今年{age}岁，老伴去世，育有三子一女。三个儿子因早年分家不均互相推诿，均不愿承担赡养义务，老人独居"
        "在破旧老屋中，生活困难，遂向村网格员求助。",
        ("justice",), respondent="{kin}", birth_years=(1938, 1950), applicant="male",
    ),
    Template(
        "divorce", DISPUTE, "marriage_family", 3,
        "{village}{a}与{kin}婚姻家庭纠纷",
        "{a}与丈夫{kin}结婚十余年，{kin}常年在外务工，近年经常酗酒后殴打{a}。{a}提出离婚，双方对两个孩子的"
        "抚养和共同建造的住房分割争执不下。",
        ("justice", "police"), amount=(20000, 200000), respondent="{kin}", applicant="female", kin_is_spouse=True,
        birth_years=(1975, 1995),
    ),
    Template(
        "inheritance", DISPUTE, "marriage_family", 2,
        "{village}{a}兄妹遗产继承纠纷",
        "{a}父亲去世后留下老宅一处及征迁补偿款{amount}元，{a}与兄长{kin}就遗产分配发生争执，{kin}以出嫁女"
        "不应分割为由拒绝分给{a}。",
        ("justice",), amount=(30000, 300000), respondent="{kin}", applicant="female",
    ),
    Template(
        "homestead", DISPUTE, "housing_plot", 5,
        "{village}{a}与{b}宅基地纠纷",
        "{a}翻建住房时，{b}认为其新房墙基超出原宅基地范围约{cm}公分，侵占了两家之间的滴水沟，阻止施工，双方各持"
        "{year0}年的宅基地使用证。",
        ("land", "justice"),
    ),
    Template(
        "traffic", DISPUTE, "road_traffic", 4,
        "{a}与{b}道路交通事故赔偿纠纷",
        "{date}，{b}驾驶小型货车在{road}与{a}驾驶的电动自行车发生碰撞，{a}右腿骨折住院治疗。交警认定{b}负主要"
        "责任，双方就医疗费、误工费、护理费等赔偿数额协商未果。",
        ("police",), amount=(8000, 120000), sources=("110", "police", "court"),
    ),
    Template(
        "build_contract", DISPUTE, "contract", 3,
        "{a}与{b}建房工程款纠纷",
        "{a}请{b}承建三层住房，约定包工包料总价{total}元。房屋完工后，{a}以墙体开裂、屋面渗水为由扣留尾款"
        "{amount}元，{b}多次索要未果。",
        ("justice",), amount=(10000, 150000), sources=("screening", "visit", "court"),
    ),
    Template(
        "seeds", DISPUTE, "consumer", 2,
        "{village}{n}户村民与农资店种子质量纠纷",
        "{village}{n}户种粮户在{town}镇{shop}农资店购买同一批次的杂交稻种，出苗率不足五成，造成减产，要求农资店"
        "赔偿损失{amount}元，店主称系村民育秧不当所致。",
        ("agri",), amount=(5000, 50000), people=(5, 20), group=1.0, respondent="{town}镇{shop}农资店",
    ),
    Template(
        "dust_noise", DISPUTE, "pollution", 3,
        "{village}村民反映{company}粉尘噪声扰民",
        "{company}靠近{village}{grp}组居民区，夜间生产噪声大、粉尘多，周边{n}户村民多次反映无果，部分村民堵住"
        "厂门要求停产搬迁。",
        ("environment",), people=(20, 120), group=1.0, respondent="{company}", sources=("screening", "12345"),
        risk=(0.4, 0.0),
    ),
    Template(
        "pig_farm", DISPUTE, "pollution", 2,
        "{village}{a}与{b}养殖污染纠纷",
        "{b}在{village}{grp}组附近经营生猪养殖场，粪污未经处理直排沟渠，污染{a}等农户的稻田和饮用水井，双方多次"
        "发生争吵。",
        ("environment", "agri"),
    ),
    Template(
        "property", DISPUTE, "property_mgmt", 2,
        "{village}{estate}小区业主与物业服务纠纷",
        "{estate}小区{n}户业主反映物业公司保洁、保安服务不到位，电梯长期故障，拒交物业费；物业公司以业主欠费为由"
        "停止部分服务，矛盾激化。",
        ("justice",), people=(15, 80), group=1.0, respondent="{estate}物业服务中心",
        villages=("柳林社区", "桃源社区"), sources=("12345", "screening"),
    ),
    Template(
        "collective_income", DISPUTE, "village_affairs", 2,
        "{village}{grp}组集体收益分配纠纷",
        "{village}{grp}组将组集体山场承包费{amount}元按人口分配，{a}等{n}名外嫁女及其子女未被列入分配名单，"
        "要求平等分配。",
        ("justice", "agri"), amount=(20000, 200000), people=(5, 15), group=1.0, respondent="{village}{grp}组",
        applicant="female",
    ),
    Template(
        "partnership", DISPUTE, "business", 2,
        "{a}与{b}合伙经营纠纷",
        "{a}与{b}合伙经营茶叶加工厂，因今年春茶收购亏损，双方就合伙账目和亏损分担产生分歧，{b}提出退伙并要求"
        "返还投资款{amount}元。",
        ("justice",), amount=(10000, 100000),
    ),
    # 信访事项
    Template(
        "acquisition_share", PETITION, "land_acquisition", 6,
        "{village}{a}反映征地补偿款分配问题",
        "信访人{a}反映，{year}年{project}征收{village}{grp}组土地{mu}亩，组内补偿款分配方案以其系“外嫁女”为由"
        "将其排除，本人应得补偿款约{amount}元未能领取，要求依法保障其合法权益。",
        ("land",), amount=(20000, 200000), petition_type="claim", respondent="", villages=TOWN_VILLAGES,
        applicant="female",
    ),
    Template(
        "resettlement", PETITION, "land_acquisition", 2,
        "{village}{n}户村民反映拆迁安置问题",
        "{a}等{n}户村民联名反映，{project}拆迁安置房至今未开工建设，过渡费自去年起停发，要求政府明确安置时间、"
        "补发过渡费，并扬言集体到县里上访。",
        ("land", "resources"), people=(50, 200), group=1.0, petition_type="claim", respondent="",
        villages=TOWN_VILLAGES, risk=(0.6, 0.15),
    ),
    Template(
        "teachers_group", PETITION, "labour", 2,
        "原民办教师{a}等{n}人反映1983年辞退后待遇问题",
        "信访人{a}等{n}人系原{town}乡各村小学民办教师，任教五至十余年，1983年民办教师整顿时被辞退。现均已年过"
        "六旬，生活困难，要求参照有关政策认定教龄、落实生活补助和养老保险待遇。此事已多次信访。",
        ("school", "education"), people=(8, 40), group=1.0, legacy=1.0, repeat=0.8, petition_type="claim",
        respondent="", sources=("visit", "letter", "higher"), birth_years=(1948, 1962), risk=(0.5, 0.0),
    ),
    Template(
        "teacher_single", PETITION, "labour", 2,
        "原民办教师{a}反映1983年被辞退后待遇问题",
        "信访人{a}系原{village}小学民办教师，1975年起任教八年，1983年被辞退。现年过六旬，无固定收入，要求认定"
        "其教龄并落实原民办教师生活补助。",
        ("school", "education"), legacy=1.0, repeat=0.5, petition_type="claim", respondent="",
        sources=("visit", "letter"), birth_years=(1950, 1960),
    ),
    Template(
        "enterprise_pension", PETITION, "labour", 2,
        "原{town}乡办企业职工{a}反映社保接续问题",
        "信访人{a}原系{town}乡农机厂职工，1998年企业改制时解除劳动关系，当时未足额缴纳养老保险，现已到退休年龄"
        "无法按月领取养老金，要求补缴并办理退休手续。",
        ("labour", "hr"), legacy=1.0, repeat=0.3, petition_type="claim", respondent="",
        birth_years=(1960, 1966),
    ),
    Template(
        "reservoir_migrant", PETITION, "other", 1,
        "{village}水库移民{a}反映后期扶持问题",
        "信访人{a}系大塘水库库区移民，反映其家庭人口登记有误，两个子女未纳入水库移民后期扶持范围，要求重新核定"
        "并补发扶持资金。",
        ("water", "agri"), legacy=1.0, petition_type="claim", respondent="", villages=WATER_VILLAGES,
    ),
    Template(
        "village_finance", PETITION, "village_affairs", 3,
        "反映{village}村干部村务财务不公开问题",
        "信访人{a}等反映，{village}村干部在{project}项目资金使用、村集体水面发包收入等方面长期不公开，怀疑存在"
        "优亲厚友、截留挪用问题，要求查清并公开账目。",
        ("justice", "agri"), people=(1, 12), petition_type="accusation", respondent="",
        sources=("letter", "online", "visit"), accuses_village=True,
    ),
    Template(
        "water_rigging", PETITION, "water_contracting", 2,
        "反映{village}{lake}水面发包暗箱操作问题",
        "信访人{a}反映，{village}村委会将{lake}水面发包时未经村民代表大会讨论，以明显低于市场价的每年{amount}元"
        "发包给村干部亲属，要求撤销发包、重新公开招标。",
        ("water", "agri"), amount=(10000, 80000), petition_type="accusation", respondent="",
        villages=WATER_VILLAGES, sources=("letter", "online", "12345"), accuses_village=True,
    ),
    Template(
        "dibao", PETITION, "village_affairs", 3,
        "{village}{a}反映低保评定不公问题",
        "信访人{a}反映，其丈夫患尿毒症常年透析，家庭生活困难，申请低保未获通过，而同组部分家庭条件较好的户却"
        "享受低保，认为评定不公开、不公正。",
        ("justice",), petition_type="claim", respondent="", applicant="female",
    ),
    Template(
        "streetlight", PETITION, "other", 2,
        "建议在{village}{spot}加装路灯和护栏",
        "信访人{a}建议：{village}{spot}路段弯急坡陡，夜间没有照明，近一年已发生多起交通事故，希望有关部门加装"
        "路灯和防护栏。",
        ("police",), petition_type="suggestion", respondent="", sources=("online", "12345", "letter"),
    ),
    Template(
        "wage_petition", PETITION, "labour", 3,
        "{a}等{n}名农民工反映{company}欠薪问题",
        "信访人{a}等{n}人反映在{company}承建的{project}务工，被拖欠工资{amount}元，多次找公司和包工头讨要无果，"
        "要求政府协调解决。",
        ("labour", "hr"), amount=(20000, 400000), people=(10, 60), group=1.0, petition_type="claim",
        respondent="", sources=("visit", "12345", "online"), risk=(0.4, 0.0),
    ),
    Template(
        "land_registration", PETITION, "land_forest", 3,
        "{village}{a}反映土地确权登记错误问题",
        "信访人{a}反映，在农村土地承包经营权确权登记中，其家承包地面积被少登记{fen}分，且有一块地被登记在他人"
        "名下，多次找村里更正未果。",
        ("agri", "land"), petition_type="claim", respondent="",
    ),
    Template(
        "build_permit", PETITION, "housing_plot", 2,
        "{village}{a}反映建房审批问题",
        "信访人{a}反映，其家五口人居住在上世纪七十年代建造的土坯房中，已申请宅基地建房两年，审批一直未办下来，"
        "而同组有人未批先建却无人过问。",
        ("land", "resources"), petition_type="claim", respondent="",
    ),
    Template(
        "wastewater", PETITION, "pollution", 2,
        "{village}村民反映{company}偷排废水问题",
        "信访人{a}等反映{company}生产废水偷排入{lake}，导致鱼类大量死亡、水质发臭，要求环保部门查处并赔偿养殖户"
        "损失。",
        ("environment",), people=(3, 30), group=0.5, petition_type="claim", respondent="",
        villages=WATER_VILLAGES, sources=("12345", "online", "visit"),
    ),
)
TEMPLATE_BY_KEY = {t.key: t for t in TEMPLATES}

# ---------------------------------------------------------------------------------------
# Words for the steps.

SURNAMES = (
    "张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶余潘杜"
    "戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段钱汤尹黎易常武乔贺赖龚文章檀"
)
MALE_GIVEN = (
    "建国", "志强", "春生", "德明", "小军", "永福", "国庆", "卫东", "长林", "有才", "福生", "爱民", "晓东",
    "文斌", "宏伟", "俊杰", "双喜", "满仓", "大勇", "金宝", "传福", "立新", "海军", "道明", "先进", "光辉",
    "家旺", "树林", "为民", "德胜", "启明", "正华", "开富", "新民", "旺财", "贤良", "发根", "水生",
)
FEMALE_GIVEN = (
    "秀英", "桂兰", "玉梅", "海燕", "红霞", "金花", "美华", "淑珍", "丽娟", "雪梅", "桂芳", "秀兰", "春梅",
    "月娥", "翠花", "凤英", "小红", "晓丽", "兰芳", "冬梅", "素芬", "爱华", "菊香", "巧云", "芳芳", "婷婷",
)
COMPANIES = (
    "青阳县宏达建筑工程有限公司", "柳林镇鑫源石材厂", "安徽华荣新材料有限公司", "青阳县绿野苗木专业合作社",
    "柳林镇顺发砖瓦厂", "池州市恒通劳务有限公司", "青阳县华宇钙业有限公司", "柳林镇兴旺竹木制品厂",
)
PROJECTS = (
    "柳林工业园二期", "G318国道改线工程", "柳林镇污水处理厂", "美丽乡村建设项目", "高标准农田建设项目",
    "柳林镇中心小学迁建工程", "县道柳桃线拓宽工程",
)
LAKES = ("长湖", "南圩塘", "大塘水库", "河口外湖", "东湾塘")
ROADS = ("县道柳桃线", "G318国道柳林段", "柳林镇街道", "村村通水泥路")
ESTATES = ("柳林花园", "锦绣家园", "桃源新村")
SHOPS = ("丰收", "惠农", "金穗", "绿源")
ILLNESSES = ("急性阑尾炎", "胸闷气短", "高血压", "小儿高热", "腹痛")
ACCIDENTS = ("高处坠落", "机械伤害", "物体打击", "触电")
SITES = ("厂区", "施工工地", "采石场")
SPOTS = ("村口急弯", "河堤路", "学校门口", "长坡")
GROUPS = ("一", "二", "三", "四", "五", "六", "七", "八")
# GB/T 2260 codes of 青阳县 and its neighbours: most parties are local, some migrant workers.
AREA_CODES = ("341723",) * 6 + ("341721", "341722", "340826", "340823")
MOBILE_PREFIXES = ("133", "135", "136", "138", "139", "150", "151", "153", "158", "166", "177", "180", "187",
                   "189", "199")

FINDINGS = (
    "经入户走访、查阅合同和现场查看，基本事实已查清，双方均同意接受调解。",
    "经分别约谈双方当事人并听取村干部、知情群众意见，争议焦点已明确，双方同意由镇调委会主持调解。",
    "已调取相关协议、收据和村委会会议记录，事实基本清楚，具备调解条件。",
    "经现场勘查并询问证人，双方对基本事实无异议，分歧主要在赔偿数额，同意调解。",
)
NOTES = (
    "已电话联系双方当事人，约定本周内到村委会面谈。",
    "网格员入户走访，当事人情绪基本稳定。",
    "已调取相关合同、收据及村委会会议记录。",
    "已与牵头部门联系，请其派员参与调查。",
    "当事人来电询问办理进度，已告知正在协调。",
    "已列入本月矛盾纠纷排查例会重点事项。",
    "已向分管领导汇报，要求稳控在当地、化解在基层。",
)
SESSION_RECORDS = (
    "听取双方陈述，向双方释明相关法律政策规定，双方初步同意各让一步。",
    "现场查看争议地块，双方分歧集中在赔偿数额，约定下周再次调解。",
    "背靠背做双方工作，申请人同意降低诉求，被申请人同意分期履行。",
    "邀请村老党员、村民代表参与调解，双方情绪缓和，调解取得进展。",
)
ESCALATE_REASONS = (
    "涉及人数多、情绪激烈，超出镇级调处能力，请求县级协调。",
    "涉及县直部门政策把握，需县里统一口径。",
    "双方分歧大，镇级多次调解未果，申请上级协调化解。",
    "当事人扬言越级上访，存在较大稳定风险，报请县里督办。",
)
MAJOR_ESCALATE_REASON = "属重大风险事项，按规定在两小时内上报县综治中心。"
SEND_BACK = (
    "请{town}镇继续牵头化解，县直相关部门配合，政策口径已明确，十五日内办结并报结果。",
    "县里已召开协调会明确处理意见，交由{town}镇属地落实，做好当事人思想工作，防止矛盾反复。",
    "请镇综治办按“谁主管谁负责”原则组织牵头部门逐户核实，限期化解并回访。",
)
REFER = {
    "litigation": "双方分歧较大，调解不成，已告知当事人可向县人民法院提起诉讼，并做好诉前引导。",
    "arbitration": "属劳动争议，调解不成，已引导当事人向县劳动人事争议仲裁委员会申请仲裁。",
    "administrative_review": "信访人对行政行为不服，已告知其依法申请行政复议。",
    "other_department": "事项属其他部门职责范围，已移交有权处理的部门并告知当事人。",
}
REJECT = {
    DISPUTE: (
        "一方当事人明确拒绝调解，不属于人民调解受理范围，已告知当事人通过诉讼途径解决。",
        "该纠纷已由人民法院受理，依法不再受理调解申请。",
    ),
    PETITION: (
        "信访人的诉求已经或者依法应当通过诉讼、仲裁、行政复议等法定途径解决，不予受理，已书面告知。",
        "同一事项已办理终结，信访人未提出新的事实和理由，不再受理。",
    ),
}
WITHDRAW = (
    "双方自行和解，申请人申请撤回。",
    "申请人撤回调解申请。",
    "信访人表示问题已得到解决，撤回信访请求。",
)
REOPEN = (
    "回访时当事人反映对方未按调解协议履行，矛盾出现反复。",
    "当事人对处理结果不满意，再次到镇里反映，需重新办理。",
)
FOLLOW_UP = (
    "电话回访申请人，协议已履行完毕，当事人表示满意。",
    "入户回访，双方关系缓和，未出现反复。",
    "回访信访人，答复意见已送达，信访人表示理解。",
    "回访时当事人表示款项已到位，但对办理时间较长有意见。",
)
EXTENSION_REASONS = (
    "需等待县自然资源局出具勘界结论，申请延长期限。",
    "主要当事人外出务工，需待其返乡后再组织调解，申请延长期限。",
    "涉及多个部门会商，需延长期限以便形成统一处理意见。",
)
PAUSE_REASON = "委托市医学会进行医疗损害鉴定，鉴定期间不计入调解期限（医疗纠纷预防和处理条例 第三十八条）。"
PETITION_OUTCOMES = {
    "supported": "经调查核实，信访人反映的问题基本属实，已责成相关单位予以纠正，并书面答复信访人。",
    "explained": "经调查核实，信访人诉求涉及的事项已按现行政策办理，已向信访人当面解释政策依据并出具书面答复意见。",
    "not_supported": "经调查核实，信访人的诉求缺乏政策和法律依据，不予支持，已出具书面答复意见并告知其可申请复查。",
}
RESOLUTIONS = {
    "land_forest": (
        "经调解，{b}同意于本月底前分两次付清所欠租金，{a}同意继续履行流转合同，双方签订书面调解协议。",
        "经现场勘界，双方认可以原始丈量记录为准重新确定界址，双方签订调解协议。",
    ),
    "water_contracting": (
        "经调解，村委会给予原承包人两个月起捕期，期满后退出水面，双方签订调解协议。",
        "经调解，村委会同意减免当年承包费的三成，{a}补交其余承包费，双方签订补充协议。",
    ),
    "land_acquisition": (
        "经征迁办、国土所与当事人多次协商，重新委托评估后按评估结果补偿，当事人签订补偿协议。",
        "施工单位按标准一次性兑付青苗及附着物补偿款，款项已打卡到户，村民撤离施工现场。",
    ),
    "labour": (
        "经劳动保障所协调，用工单位同意分两期支付拖欠工资，首期已当场兑付，余款由总包单位担保于月底前付清。",
        "经调解，用人单位一次性支付各项工伤待遇共计{amount}元，双方解除劳动关系，签订调解协议。",
    ),
    "work_safety": (
        "经调解，企业一次性赔偿死者家属{amount}元（含丧葬费、供养亲属抚恤金等），家属撤除灵堂，双方签订协议并申请"
        "司法确认。",
    ),
    "medical": ("经医调委调解，医疗机构承担相应责任，一次性补偿{amount}元，双方签订调解协议，不再追究。",),
    "neighbours": (
        "经调解，{b}同意在自家宅基内修建排水沟，双方握手言和。",
        "经调解，双方各让一步，通行小路恢复原状，宽度保持一米二。",
    ),
    "marriage_family": (
        "经调解，子女签订赡养协议，每人每月给付赡养费五百元，轮流照料老人。",
        "经调解，双方就子女抚养和房屋分割达成协议，并约定到法院申请司法确认。",
    ),
    "housing_plot": ("经国土所现场测量，按宅基地使用证四至确定界址，{a}调整墙基位置，双方签订协议。",),
    "road_traffic": ("经调解，{b}及保险公司一次性赔偿{a}各项损失共计{amount}元，双方签订协议并当场履行。",),
    "contract": ("经调解，{b}负责维修渗水屋面，{a}在维修验收后支付尾款，双方签订协议。",),
    "consumer": ("经调解，农资店一次性补偿受损农户{amount}元，并承诺下一季免费提供种子。",),
    "pollution": ("企业停产整改，加装降尘降噪设施，夜间停止生产，经环保部门验收后复产，周边村民表示认可。",),
    "property_mgmt": ("经社区协调，物业公司限期修复电梯、增加保洁人员，业主补交欠缴物业费，双方签订服务承诺书。",),
    "village_affairs": ("经调解，集体收益分配方案修订，外嫁女及其子女按人口平等分配，补发款项已到位。",),
    "damages": ("经调解，{b}赔偿{a}家禽损失，{a}承诺圈养家禽，双方和好。",),
    "business": ("经调解，双方对合伙账目进行清算，{a}分期返还{b}投资款，合伙关系解除。",),
}
GENERIC_RESOLUTION = "经多次组织双方协商，双方互谅互让，达成调解协议并已履行。"

# ---------------------------------------------------------------------------------------
# How cases move: plans are lists of operations, with the days each step takes.

STAGE_AFTER = {
    "accept": S.INVESTIGATING,
    "reject": S.CLOSED,
    "start_mediation": S.MEDIATING,
    "resolve": S.RESOLVED,
    "escalate": S.ESCALATED,
    "escalate_fast": S.ESCALATED,
    "take_over": S.INVESTIGATING,
    "send_back": S.INVESTIGATING,
    "refer": S.CLOSED,
    "follow_up": S.CLOSED,
    "reopen": S.INVESTIGATING,
    "withdraw": S.CLOSED,
}
GAP_DAYS: dict[str, tuple[float, float]] = {
    "accept": (0.05, 2.5),
    "reject": (0.2, 3.0),
    "start_mediation": (1.0, 6.0),
    "session": (1.0, 8.0),
    "resolve": (2.0, 15.0),
    "follow_up": (4.0, 14.0),
    "escalate": (0.5, 6.0),
    # 重大 risk is reported upward within 2 hours.
    "escalate_fast": (0.02, 0.06),
    "take_over": (0.3, 2.5),
    "send_back": (0.5, 3.0),
    "assign": (0.1, 1.0),
    "refer": (3.0, 20.0),
    "withdraw": (1.0, 15.0),
    "reopen": (3.0, 12.0),
    "note": (0.3, 5.0),
    # Asked for when the clock is near its end, while it still runs.
    "request_extension": (12.0, 18.0),
    "decide_extension": (0.2, 2.0),
    "pause_deadline": (2.0, 6.0),
    "resume_deadline": (10.0, 25.0),
}

Plan = tuple[str, ...]
DISPUTE_PLANS: tuple[tuple[float, Plan], ...] = (
    (7, ()),
    (8, ("accept",)),
    (9, ("accept", "start_mediation", "session")),
    (6, ("accept", "start_mediation", "session", "resolve")),
    (3, ("accept", "escalate")),
    (1.5, ("escalate",)),
    (30, ("accept", "start_mediation", "session", "session", "resolve", "follow_up")),
    (6, ("accept", "resolve", "follow_up")),
    (4, ("accept", "start_mediation", "session", "refer")),
    (2, ("accept", "refer")),
    (5, ("reject",)),
    (2, ("withdraw",)),
    (3, ("accept", "start_mediation", "withdraw")),
    (2, ("accept", "escalate", "take_over", "start_mediation", "session", "resolve", "follow_up")),
    (2, ("accept", "escalate", "send_back", "start_mediation", "session", "resolve", "follow_up")),
    (1, ("accept", "escalate", "take_over")),
    (2, ("accept", "start_mediation", "resolve", "reopen", "start_mediation", "session", "resolve", "follow_up")),
)
PETITION_PLANS: tuple[tuple[float, Plan], ...] = (
    (7, ()),
    (10, ("accept",)),
    (4, ("accept", "start_mediation", "session")),
    (6, ("accept", "resolve")),
    (3, ("accept", "escalate")),
    (30, ("accept", "resolve", "follow_up")),
    (6, ("accept", "start_mediation", "session", "resolve", "follow_up")),
    (4, ("accept", "refer")),
    (6, ("reject",)),
    (4, ("withdraw",)),
    (2, ("accept", "withdraw")),
    (2, ("accept", "escalate", "take_over", "resolve", "follow_up")),
    (2, ("accept", "escalate", "send_back", "resolve", "follow_up")),
    (1, ("accept", "resolve", "reopen", "resolve", "follow_up")),
)
MAJOR_PLANS: tuple[tuple[float, Plan], ...] = (
    (3, ("escalate_fast", "take_over", "start_mediation", "session", "resolve", "follow_up")),
    (2, ("escalate_fast", "send_back", "assign", "start_mediation", "session", "resolve", "follow_up")),
    (1, ("escalate_fast", "take_over", "start_mediation", "session")),
)


@dataclass(frozen=True)
class Fixed:
    """A case the demo always has, so every path is shown however few cases are asked for.
    overdue: whether its open clock has run out now (None for a closed case)."""

    template: str
    plan: Plan
    overdue: bool | None = None
    township: str = "LL"
    county_level: bool = False
    risk: str | None = None


FIXED: tuple[Fixed, ...] = (
    Fixed("land_rent", (), False),
    Fixed("neighbours_drain", (), True),
    Fixed("acquisition_share", (), True),
    Fixed("wage_arrears", ("accept", "note"), True, risk=Case.Risk.SIGNIFICANT),
    Fixed("family_support", ("accept",), False, township="TY"),
    Fixed("water_recontract",
          ("accept", "start_mediation", "session", "request_extension", "decide_extension", "session"), False),
    Fixed("medical_center",
          ("accept", "start_mediation", "pause_deadline", "resume_deadline", "session", "resolve", "follow_up")),
    Fixed("clinic", ("accept", "start_mediation", "session", "pause_deadline"), False),
    Fixed("wage_single", ("accept", "start_mediation", "session"), True),
    Fixed("teacher_single", ("accept", "start_mediation", "session", "note"), True),
    Fixed("homestead", ("accept", "start_mediation", "session", "resolve"), True),
    Fixed("traffic", ("accept", "resolve"), False),
    Fixed("wage_petition", ("accept", "escalate"), True, risk=Case.Risk.SIGNIFICANT),
    Fixed("resettlement", ("escalate",), False, risk=Case.Risk.SIGNIFICANT),
    Fixed("crop_compensation",
          ("escalate_fast", "take_over", "start_mediation", "session", "resolve", "follow_up"), risk=Case.Risk.MAJOR),
    Fixed("work_accident", ("escalate_fast", "take_over", "start_mediation", "session"), False, risk=Case.Risk.MAJOR),
    Fixed("teachers_group", ("accept", "note", "escalate", "send_back", "note", "resolve", "follow_up"),
          risk=Case.Risk.SIGNIFICANT),
    Fixed("dust_noise", ("escalate", "send_back", "assign", "start_mediation", "session", "resolve", "follow_up"),
          risk=Case.Risk.SIGNIFICANT),
    Fixed("land_renewal", ("accept", "start_mediation", "session", "escalate", "refer"), risk=Case.Risk.SIGNIFICANT),
    Fixed("land_boundary",
          ("accept", "start_mediation", "resolve", "reopen", "start_mediation", "session", "resolve", "follow_up")),
    Fixed("neighbours_road", ("accept", "start_mediation", "resolve", "reopen"), False),
    Fixed("dibao", ("accept", "note", "request_extension", "decide_extension", "resolve", "follow_up")),
    Fixed("work_injury", ("accept", "start_mediation", "session", "refer")),
    Fixed("build_contract", ("reject",)),
    Fixed("build_permit", ("reject",)),
    Fixed("streetlight", ("accept", "resolve", "follow_up")),
    Fixed("divorce", ("withdraw",)),
    Fixed("partnership", ("accept", "start_mediation", "withdraw")),
    Fixed("village_finance", ("accept", "resolve", "follow_up")),
    Fixed("land_registration", ("accept", "resolve", "follow_up"), county_level=True),
    Fixed("enterprise_pension", ("accept",), True, county_level=True),
)


# ---------------------------------------------------------------------------------------
# Building it.


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(width - display_width(text), 0)


@dataclass
class Unit:
    """An org unit with the people the seed needs to pick actors from."""

    org: OrgUnit
    short: str = ""
    by_role: dict[str, list[Any]] = field(default_factory=dict)
    departments: dict[str, OrgUnit] = field(default_factory=dict)
    villages: list[OrgUnit] = field(default_factory=list)

    def people(self, role: str) -> list[Any]:
        return self.by_role.get(role, [])


@dataclass
class Story:
    """One case to tell: what it is about, and how it moves."""

    template: Template
    plan: Plan
    township: Unit
    village: OrgUnit
    county_level: bool
    overdue: bool | None
    ctx: dict[str, str]
    data: dict[str, Any]
    parties: list[dict[str, Any]]
    source: str


class Seeder:
    def __init__(self, *, seed: int, password: str, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.password = password
        self.now = now
        self.accounts: list[tuple[str, str, str, str]] = []
        self.users_by_id: dict[int, Any] = {}
        self.units: dict[int, Unit] = {}
        self.liaison_of: dict[int, Any] = {}
        self.county: Unit
        self.townships: dict[str, Unit] = {}

    # The county, its units and people.

    def build_county(self) -> None:
        hashed = make_password(self.password)  # once: hashing is slow by design
        User = get_user_model()
        admin = User.objects.create(
            username="admin", first_name="系统管理员", is_staff=True, is_superuser=True, password=hashed
        )
        self.accounts.append(("admin", "系统管理员", "—", admin.first_name))

        def unit(code: str, name: str, level: str, parent: OrgUnit | None) -> OrgUnit:
            return OrgUnit.objects.create(code=code, name=name, level=level, parent=parent)

        # Until the working pages exist the admin is the way in: every demo user is staff
        # and may read cases there; visible_to() cuts each list to their reach.
        readers, _ = Group.objects.get_or_create(name="案件查阅 case readers")
        readers.permissions.set(
            Permission.objects.filter(
                codename__in=["view_case", "view_party", "view_caseevent", "view_deadline", "view_notification"]
            )
        )

        def person(staff: Staff, org: OrgUnit) -> Any:
            user = User.objects.create(username=staff.username, first_name=staff.name, password=hashed, is_staff=True)
            user.groups.add(readers)
            Membership.objects.create(user=user, unit=org, role=staff.role)
            self.users_by_id[user.pk] = user
            self.units[org.pk].by_role.setdefault(staff.role, []).append(user)
            self.accounts.append((staff.username, ROLE_ZH[staff.role], org.name, staff.name))
            return user

        county = unit(COUNTY_CODE, COUNTY_NAME, L.COUNTY, None)
        self.county = self.units[county.pk] = Unit(county, short="青阳")
        for staff in COUNTY_STAFF:
            person(staff, county)
        for dept in COUNTY_DEPARTMENTS:
            org = unit(f"{COUNTY_CODE}-{dept.suffix}", dept.name, L.DEPARTMENT, county)
            self.units[org.pk] = Unit(org)
            self.county.departments[dept.key] = org
            self.liaison_of[org.pk] = person(dept.liaison, org)
        for spec in TOWNSHIPS:
            code = f"{COUNTY_CODE}-{spec.suffix}"
            township = unit(code, spec.name, L.TOWNSHIP, county)
            entry = self.units[township.pk] = Unit(township, short=spec.short)
            self.townships[spec.suffix] = entry
            for staff in spec.staff:
                person(staff, township)
            for village in spec.villages:
                org = unit(f"{code}-{village.suffix}", village.name, L.VILLAGE, township)
                self.units[org.pk] = Unit(org)
                entry.villages.append(org)
                person(village.worker, org)
            for dept in spec.departments:
                org = unit(f"{code}-{dept.suffix}", dept.name, L.DEPARTMENT, township)
                self.units[org.pk] = Unit(org)
                entry.departments[dept.key] = org
                self.liaison_of[org.pk] = person(dept.liaison, org)

    # Cases.

    def build_cases(self, count: int) -> None:
        fixed = list(FIXED[:count])
        stories = [self.fixed_story(f) for f in fixed]
        # About 70 % disputes and 30 % petitions overall, the fixed cases included.
        petitions = max(round(count * PETITION_SHARE) - sum(s.template.kind == PETITION for s in stories), 0)
        kinds = [PETITION] * petitions + [DISPUTE] * max(count - len(fixed) - petitions, 0)
        self.rng.shuffle(kinds)
        stories += [self.random_story(kind) for kind in kinds[: count - len(fixed)]]
        for story in stories:
            self.tell(story)

    # Monthly screening returns.

    def build_returns(self) -> None:
        """The villages' returns for the last three months whose returns have fallen due:
        the earlier two all filed (nil where the village found nothing, and one village
        filing nil over a month it had disputes in: a concealment suspect); of the last,
        one filed late and two never, so the board shows overdue returns. Disputes that
        came by another channel are left off the returns, as villages leave them off."""
        months = []
        month = parse_month(timezone.localtime(self.now).date())
        while len(months) < 3:
            month = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
            clock = return_clock(self.townships["LL"].villages[0], month)
            if clock is not None and clock.due_at < self.now:
                months.insert(0, (month, clock))
        villages = [v for t in self.townships.values() for v in t.villages]
        found = defaultdict(list)
        for pk, village_id, reported, _source in Case.objects.filter(village__in=villages, source="screening") \
                .values_list("pk", "village_id", "reported_at", "source"):
            found[(village_id, parse_month(timezone.localtime(reported).date()))].append(pk)
        missing = {villages[3].pk, villages[7].pk}
        late, concealing = villages[5].pk, villages[1].pk
        for i, (month, clock) in enumerate(months):
            last = i == len(months) - 1
            for village in villages:
                if last and village.pk in missing:
                    continue
                if last and village.pk == late:
                    # After the due time, before the month closed and before now.
                    at = clock.due_at + min(timedelta(hours=12), (min(clock.closes_at, self.now) - clock.due_at) / 2)
                else:
                    opened = clock.due_at - timedelta(days=24)
                    at = opened + timedelta(hours=self.rng.uniform(2, 20 * 24))
                items = found.get((village.pk, month), [])
                nil = not items or (i == 0 and village.pk == concealing)
                worker = self.units[village.pk].people(Role.REPORTER)[0]
                screening.submit_return(
                    actor=worker, village=village, month=month, at=at, nil=nil,
                    items=[] if nil else [{"case": pk} for pk in items],
                    signed_off_by=self.name(male=self.rng.random() < 0.8),
                    note="本月未发现矛盾纠纷，实行零报告。" if nil else "",
                )
            # The clocks of the returns never filed: the sweep gives them their red cards.
            open_return_deadlines(month, villages)

    def fixed_story(self, fixed: Fixed) -> Story:
        template = TEMPLATE_BY_KEY[fixed.template]
        return self.make_story(
            template, fixed.plan, self.townships[fixed.township], fixed.county_level, fixed.overdue, fixed.risk
        )

    def random_story(self, kind: str) -> Story:
        rng = self.rng
        candidates = [t for t in TEMPLATES if t.kind == kind]
        template = rng.choices(candidates, weights=[t.weight for t in candidates])[0]
        specs = list(TOWNSHIPS)
        township = self.townships[rng.choices(specs, weights=[s.weight for s in specs])[0].suffix]
        # Some petitions are brought straight to the county (县信访局 来访, 来信, 网上信访).
        county_level = kind == PETITION and rng.random() < 0.12 and not template.accuses_village
        significant, major = template.risk
        roll = rng.random()
        if roll < major:
            risk = Case.Risk.MAJOR
        elif roll < major + significant:
            risk = Case.Risk.SIGNIFICANT
        else:
            risk = Case.Risk.GENERAL
        if county_level and risk == Case.Risk.MAJOR:
            risk = Case.Risk.SIGNIFICANT  # nothing above the county to report to here
        if risk == Case.Risk.MAJOR:
            pool = MAJOR_PLANS
        else:
            pool = DISPUTE_PLANS if kind == DISPUTE else PETITION_PLANS
            if county_level:
                pool = tuple((w, p) for w, p in pool if "escalate" not in p)
        plan = rng.choices([p for _, p in pool], weights=[w for w, _ in pool])[0]
        plan = self.embellish(plan, template)
        overdue = None if final_stage(plan) == S.CLOSED else rng.random() < 0.35
        return self.make_story(template, plan, township, county_level, overdue, risk)

    def embellish(self, plan: Plan, template: Template) -> Plan:
        """Notes along the way, the appraisal pause a medical mediation often has, and now
        and then an extension of a mediation that runs long."""
        rng = self.rng
        steps = list(plan)
        if "accept" in steps and rng.random() < 0.35:
            steps.insert(steps.index("accept") + 1, "note")
        if (
            template.category == "medical"
            and "start_mediation" in steps
            and "resolve" in steps
            and rng.random() < 0.5
        ):
            at = steps.index("start_mediation") + 1
            steps[at:at] = ["pause_deadline", "resume_deadline"]
        if (
            template.category not in ("medical", "labour")
            and final_stage(tuple(steps)) == S.CLOSED
            and "session" in steps
            and rng.random() < 0.04
        ):
            at = steps.index("session") + 1
            steps[at:at] = ["request_extension", "decide_extension"]
        return tuple(steps)

    def make_story(self, template: Template, plan: Plan, township: Unit, county_level: bool,
                   overdue: bool | None, risk: str | None) -> Story:
        rng = self.rng
        matching = [v for v in township.villages if v.name in template.villages]
        if template.villages and not matching:
            # The template's villages (a lake, the town centre) are in the main township.
            township = self.townships["LL"]
            matching = [v for v in township.villages if v.name in template.villages]
        village = rng.choice(matching or township.villages)
        ctx = self.context(template, township, village)
        people = int(ctx["n"])
        amount = Decimal(ctx["amount"]) if template.amount else None
        if risk is None:
            # A fixed story's plan does not report upward at once, so it is never 重大 by chance.
            risk = Case.Risk.SIGNIFICANT if rng.random() < template.risk[0] else Case.Risk.GENERAL
        source = rng.choice(template.sources or (
            ("screening",) * 5 + ("visit", "visit", "phone", "110", "12345", "court", "department")
            if template.kind == DISPUTE
            else ("visit", "visit", "letter", "online", "12345", "phone", "higher")
        ))
        if county_level and source == "screening":
            source = "visit"
        data: dict[str, Any] = {
            "kind": template.kind,
            "petition_type": template.petition_type,
            # Written once the day of registration is known: the texts name dates before it.
            "title": "",
            "summary": "",
            "category": template.category,
            "source": source,
            "village": village.pk,
            "responsible_unit": self.county.org.pk if county_level else township.org.pk,
            "accused_unit": village.pk if template.accuses_village else "",
            "risk": risk,
            "people_involved": people,
            "amount": str(amount) if amount is not None else "",
            "is_group": people >= 5 and rng.random() < max(template.group, 0.5),
            "is_legacy": rng.random() < template.legacy,
            "is_repeat": rng.random() < template.repeat,
        }
        return Story(
            template=template, plan=plan, township=township, village=village, county_level=county_level,
            overdue=overdue, ctx=ctx, data=data, parties=self.parties(template, ctx, people),
            source=source,
        )

    def context(self, template: Template, township: Unit, village: OrgUnit) -> dict[str, str]:
        rng = self.rng
        female = template.applicant == "female" or (not template.applicant and rng.random() < 0.25)
        a_surname = rng.choice(SURNAMES)
        a = a_surname + rng.choice(FEMALE_GIVEN if female else MALE_GIVEN)
        lo, hi = template.amount or (1000, 10000)
        amount = round(rng.randint(lo, hi), -2 if hi >= 10000 else -1)
        lo_n, hi_n = template.people
        b_female = rng.random() < 0.2
        return {
            "town": township.short,
            "village": village.name,
            "a": a,
            "a_female": "1" if female else "",
            "b": self.name(male=not b_female),
            "b_female": "1" if b_female else "",
            "kin": (rng.choice(SURNAMES) if template.kin_is_spouse else a_surname) + rng.choice(MALE_GIVEN),
            "victim": self.name(male=True),
            "company": rng.choice(COMPANIES),
            "project": rng.choice(PROJECTS),
            "lake": rng.choice(LAKES),
            "road": rng.choice(ROADS),
            "estate": rng.choice(ESTATES),
            "shop": rng.choice(SHOPS),
            "illness": rng.choice(ILLNESSES),
            "accident": rng.choice(ACCIDENTS),
            "site": rng.choice(SITES),
            "spot": rng.choice(SPOTS),
            "grp": rng.choice(GROUPS),
            "mu": str(rng.randint(3, 80)),
            "fen": str(rng.randint(2, 9)),
            "cm": str(rng.randint(15, 60)),
            "area": str(rng.randint(120, 320)),
            "rent": str(rng.choice((400, 500, 600, 650, 700, 800))),
            "amount": str(amount),
            "loss": str(int(round(amount * rng.uniform(1.5, 3.0), -2))),
            "total": str(int(round(amount * rng.uniform(4, 10), -3))),
            "n": str(rng.randint(lo_n, hi_n)),
            "year": str(rng.randint(2012, 2024)),
            "year0": str(rng.choice((1983, 1986, 1992, 1998, 2003))),
            "days": str(rng.randint(15, 90)),
            "daily": str(rng.choice((180, 200, 220, 250, 280))),
            "grade": rng.choice(("七", "八", "九", "十")),
            "age": str(rng.randint(76, 88)),
        }

    def name(self, *, male: bool | None = None) -> str:
        if male is None:
            male = self.rng.random() < 0.7
        return self.rng.choice(SURNAMES) + self.rng.choice(MALE_GIVEN if male else FEMALE_GIVEN)

    def id_number(self, birth_years: tuple[int, int], male: bool) -> str:
        """A resident ID number that passes GB 11643: area, birth date, sequence whose last
        digit is odd for a man, and the check character."""
        rng = self.rng
        born = date(rng.randint(*birth_years), 1, 1) + timedelta(days=rng.randrange(365))
        sequence = f"{rng.randrange(100):02d}{rng.choice('13579' if male else '02468')}"
        first17 = f"{rng.choice(AREA_CODES)}{born:%Y%m%d}{sequence}"
        return first17 + id_check_char(first17)

    def phone(self) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def parties(self, template: Template, ctx: dict[str, str], people: int) -> list[dict[str, Any]]:
        rng = self.rng
        address = f"{COUNTY_NAME}{ctx['town']}镇{ctx['village']}{ctx['grp']}组"
        own_role = "petitioner" if template.kind == PETITION else "applicant"

        def individual(
            name: str, role: str, male: bool, births: tuple[int, int] = template.birth_years
        ) -> dict[str, Any]:
            return {
                "name": name, "role": role, "id_number": self.id_number(births, male),
                "phone": self.phone(), "address": address,
            }

        parties = [individual(ctx["a"], own_role, not ctx["a_female"])]
        # 信访工作条例 第十八条: many petitioners choose at most five representatives.
        for _ in range(min(people - 1, rng.randint(1, 3)) if people >= 5 else 0):
            parties.append(individual(self.name(male=True), own_role, True))
        if template.respondent == "person":
            parties.append(individual(ctx["b"], "respondent", not ctx["b_female"], RESPONDENT_BIRTH_YEARS))
        elif template.respondent:
            name = template.respondent.format(**ctx)
            if name == ctx["kin"]:
                parties.append(individual(name, "respondent", True, RESPONDENT_BIRTH_YEARS))
            else:
                # An organisation: no ID number, its office landline (0566 is 池州).
                parties.append({
                    "name": name, "role": "respondent", "id_number": "",
                    "phone": f"0566-5{rng.randrange(10**6):06d}", "address": f"{COUNTY_NAME}{ctx['town']}镇",
                })
        return parties

    # Telling one case: register it, then each step at its moment.

    def tell(self, story: Story) -> None:
        times = self.timeline(story)
        reported = timezone.localtime(times[0])
        happened = reported - timedelta(days=self.rng.randint(1, 10))
        finished = reported - timedelta(days=self.rng.randint(20, 70))
        story.ctx.update(date=f"{happened.month}月{happened.day}日", month=str(finished.month))
        story.data.update(title=story.template.title.format(**story.ctx),
                          summary=story.template.summary.format(**story.ctx))
        reporter = self.reporter_for(story)
        try:
            case = services.report_case(actor=reporter, data=story.data, parties=story.parties, at=times[0])
        except CaseOperationError as error:
            raise CommandError(f"seed_demo: registering “{story.data['title']}” failed: {error.message}") from error
        state: dict[str, Any] = {"skip_decision": False}
        for op, at in zip(story.plan, times[1:], strict=True):
            getattr(self, f"do_{op if op != 'escalate_fast' else 'escalate'}")(case.pk, story, at, state)

    def timeline(self, story: Story) -> list[datetime]:
        rng = self.rng
        gaps = []
        for op in story.plan:
            lo, hi = GAP_DAYS[op]
            gap = rng.uniform(lo, hi)
            if op in ("resolve", "follow_up", "refer") and rng.random() < 0.1:
                gap *= 2.5  # some are late: the assessment needs them too
            gaps.append(gap)
        span = sum(gaps)
        stage = final_stage(story.plan)
        if stage == S.CLOSED:
            tail = rng.uniform(0.2, max(WINDOW_DAYS - span, 0.5))
        else:
            tail = self.tail(story, stage)
        if span + tail > WINDOW_DAYS and span > 0:
            factor = max(WINDOW_DAYS - tail, 5) / span
            gaps = [g * factor if g >= 1 else g for g in gaps]
            span = sum(gaps)
        start = self.now - timedelta(days=span + tail)
        times = [self.snap(start, None)]
        for gap in gaps:
            moment = times[-1] + timedelta(days=gap)
            times.append(self.snap(moment, times[-1]) if gap >= 0.25 else self.clamp(moment, times[-1]))
        return times

    def tail(self, story: Story, stage: str) -> float:
        """Days the case has sat in its last stage until now: within its clock, or past it."""
        rng, kind, category = self.rng, story.template.kind, story.template.category
        late = bool(story.overdue)
        if stage == S.REPORTED:
            # Disputes: accepted within 3 working days; petitions: 15 days (信访工作条例 第二十二条).
            if not late:
                return rng.uniform(0.05, 0.9)
            return rng.uniform(6, 25) if kind == DISPUTE else rng.uniform(17, 40)
        if stage == S.INVESTIGATING:
            if kind == PETITION:  # 60 days to finish from acceptance (第三十四条)
                return rng.uniform(62, 95) if late else rng.uniform(1, 30)
            return rng.uniform(9, 35) if late else rng.uniform(0.1, 5)
        if stage == S.MEDIATING:
            if "pause_deadline" in story.plan[-1:]:
                return rng.uniform(1, 6)
            if category == "labour":
                return rng.uniform(17, 40) if late else rng.uniform(0.5, 8)
            if category == "medical":
                return rng.uniform(46, 70) if late else rng.uniform(0.5, 12)
            if story.data["is_legacy"] and late:
                return rng.uniform(60, 110)
            return rng.uniform(33, 70) if late else rng.uniform(0.5, 12)
        if stage == S.RESOLVED:
            return rng.uniform(17, 40) if late else rng.uniform(0.5, 10)
        if stage == S.ESCALATED:
            return rng.uniform(6, 20) if late else rng.uniform(0.05, 0.9)
        return 0.0

    def snap(self, moment: datetime, after: datetime | None) -> datetime:
        """The same day in office hours, after the previous step and before now."""
        local = timezone.localtime(moment)
        minutes = self.rng.randint(8 * 60 + 10, 17 * 60 + 40)
        snapped = local.replace(hour=minutes // 60, minute=minutes % 60, second=self.rng.randint(0, 59),
                                microsecond=0)
        if after is not None and snapped <= after:
            snapped = after + timedelta(minutes=self.rng.randint(15, 150))
        return self.clamp(snapped, after)

    def clamp(self, moment: datetime, after: datetime | None) -> datetime:
        latest = self.now - timedelta(minutes=1)
        if moment < latest:
            return moment
        if after is None:
            return self.now - timedelta(minutes=self.rng.randint(5, 60))
        return after + (latest - after) * self.rng.uniform(0.3, 0.9)

    # Who does what.

    def reporter_for(self, story: Story) -> Any:
        if story.county_level:
            return self.rng.choice(self.county.people(Role.OFFICER))
        worker = self.units[story.village.pk].people(Role.REPORTER)
        by_village = story.source == "screening" or (story.source == "visit" and self.rng.random() < 0.5)
        if by_village and not story.template.accuses_village:
            return worker[0]
        return self.rng.choice(story.township.people(Role.OFFICER))

    def case(self, case_id: int) -> Case:
        return Case.objects.select_related("responsible_unit", "lead_department").get(pk=case_id)

    def officer(self, case: Case) -> Any:
        return self.rng.choice(self.units[case.responsible_unit_id].people(Role.OFFICER))

    def supervisor(self, case: Case) -> Any:
        return self.rng.choice(self.units[case.responsible_unit_id].people(Role.SUPERVISOR))

    def assignee(self, case: Case) -> Any:
        return self.users_by_id[case.assignee_id] if case.assignee_id else self.officer(case)

    def lead_department(self, story: Story) -> OrgUnit:
        """谁主管谁负责: the township's station for the matter, else the county department."""
        for key in story.template.lead:
            if not story.county_level and key in story.township.departments:
                return story.township.departments[key]
            county = self.county_department(key)
            if county is not None:
                return county
        return self.county.departments["petition"]

    def county_department(self, key: str) -> OrgUnit | None:
        return self.county.departments.get(key) or self.county.departments.get(COUNTY_KEY_FOR.get(key, ""))

    def handler(self, unit: Unit, lead: OrgUnit | None) -> Any:
        """A mediator of the unit most of the time, else the lead department's liaison."""
        mediators = unit.people(Role.MEDIATOR)
        if lead is not None and lead.pk in self.liaison_of and (not mediators or self.rng.random() < 0.3):
            return self.liaison_of[lead.pk]
        return self.rng.choice(mediators)

    def run(self, case_id: int, op: str, actor: Any, data: dict[str, Any], at: datetime) -> Case:
        try:
            return services.transition(case_id, op, actor=actor, data=data, at=at)
        except CaseOperationError as error:
            case = Case.objects.get(pk=case_id)
            raise CommandError(
                f"seed_demo: “{op}” on {case.number} ({case.get_stage_display()}) by {actor} failed: {error.message}"
            ) from error

    def text(self, options: tuple[str, ...], story: Story) -> str:
        return self.rng.choice(options).format(**story.ctx)

    # The operations, each by the person who would take it.

    def do_accept(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        lead = self.lead_department(story)
        assignee = self.handler(self.units[case.responsible_unit_id], lead)
        self.run(case_id, "accept", self.officer(case), {"lead_department": lead.pk, "assignee": assignee.pk}, at)

    def do_reject(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        self.run(case_id, "reject", self.officer(case), {"reason": self.rng.choice(REJECT[story.template.kind])}, at)

    def do_start_mediation(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        self.run(case_id, "start_mediation", self.assignee(case), {"findings": self.rng.choice(FINDINGS)}, at)

    def do_session(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        actor = self.assignee(case)
        if case.responsible_unit_id == self.county.org.pk:
            place = "县矛盾纠纷调处化解中心调解室"
        else:
            place = self.rng.choice((f"{story.township.org.name}人民调解委员会调解室", f"{story.village.name}村委会调解室",
                                     f"{story.ctx['town']}司法所调解室", "当事人家中"))
        names = [p["name"] for p in story.parties]
        participants = "、".join(dict.fromkeys([actor.first_name, *names]))
        self.run(case_id, "record_session", actor, {
            "held_on": timezone.localtime(at).date().isoformat(),
            "place": place,
            "participants": participants[:500],
            "record": self.rng.choice(SESSION_RECORDS),
        }, at)

    def do_resolve(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        if story.template.kind == PETITION:
            outcome = self.rng.choices(list(PETITION_OUTCOMES), weights=(35, 45, 20))[0]
            summary = PETITION_OUTCOMES[outcome]
        else:
            outcome = "agreement_written" if self.rng.random() < 0.7 else "agreement_oral"
            summary = self.text(RESOLUTIONS.get(story.template.category, (GENERIC_RESOLUTION,)), story)
        self.run(case_id, "resolve", self.assignee(case), {"outcome": outcome, "summary": summary}, at)

    def do_follow_up(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        actor = self.assignee(case) if self.rng.random() < 0.6 else self.officer(case)
        satisfaction = self.rng.choices(("satisfied", "basically", "unsatisfied"), weights=(65, 28, 7))[0]
        self.run(case_id, "follow_up", actor, {"record": self.rng.choice(FOLLOW_UP), "satisfaction": satisfaction}, at)

    def do_escalate(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        major = case.risk == Case.Risk.MAJOR
        actor = self.supervisor(case) if major or self.rng.random() < 0.3 else self.officer(case)
        reason = MAJOR_ESCALATE_REASON if major else self.rng.choice(ESCALATE_REASONS)
        self.run(case_id, "escalate", actor, {"reason": reason}, at)

    def do_take_over(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        # The county hands it to its own mediator, or to the county department in charge.
        lead = self.county_department(story.template.lead[0])
        assignee = self.handler(self.county, lead)
        self.run(case_id, "take_over", self.officer(case), {"assignee": assignee.pk}, at)

    def do_send_back(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        self.run(case_id, "send_back", self.supervisor(case), {"instructions": self.text(SEND_BACK, story)}, at)

    def do_assign(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        assignee = self.handler(self.units[case.responsible_unit_id], case.lead_department)
        self.run(case_id, "assign", self.officer(case), {"assignee": assignee.pk}, at)

    def do_refer(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        if story.template.kind == PETITION:
            channel = self.rng.choice(("administrative_review", "other_department", "litigation"))
        elif story.template.category == "labour":
            channel = "arbitration"
        else:
            channel = self.rng.choice(("litigation", "litigation", "other_department"))
        self.run(case_id, "refer", self.officer(case), {"channel": channel, "reason": REFER[channel]}, at)

    def do_reopen(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        actor = self.officer(case) if self.rng.random() < 0.7 else self.supervisor(case)
        self.run(case_id, "reopen", actor, {"reason": self.rng.choice(REOPEN)}, at)

    def do_withdraw(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        reasons = WITHDRAW[2:] if story.template.kind == PETITION else WITHDRAW[:2]
        self.run(case_id, "withdraw", self.officer(case), {"reason": self.rng.choice(reasons)}, at)

    def do_note(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        actors = [self.officer(case)]
        if case.assignee_id:
            actors.append(self.assignee(case))
        if case.lead_department_id in self.liaison_of:
            actors.append(self.liaison_of[case.lead_department_id])
        if not story.template.accuses_village and not story.county_level:
            actors += self.units[story.village.pk].people(Role.REPORTER)
        self.run(case_id, "note", self.rng.choice(actors), {"text": self.rng.choice(NOTES)}, at)

    def do_request_extension(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        open_clocks = Deadline.objects.open().filter(case=case, extension__isnull=True, rule__extension_cap__gt=0)
        # The mediation clock if it runs, else the petition's handling clock.
        deadline = open_clocks.filter(kind="mediation").first() or open_clocks.order_by("due_at").first()
        if deadline is None:
            state["skip_decision"] = True
            return
        amount = min(deadline.rule.extension_cap, 15 if deadline.kind == "mediation" else 30)
        self.run(case_id, "request_extension", self.assignee(case), {
            "deadline": deadline.pk, "amount": amount, "reason": self.rng.choice(EXTENSION_REASONS),
        }, at)
        state["extension_deadline"] = deadline.pk

    def do_decide_extension(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        if state.get("skip_decision"):
            return
        case = self.case(case_id)
        self.run(case_id, "decide_extension", self.supervisor(case), {
            "deadline": state["extension_deadline"], "approve": "yes", "comment": "同意延期，请抓紧办理。",
        }, at)

    def do_pause_deadline(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        case = self.case(case_id)
        deadline = Deadline.objects.open().filter(case=case, kind="mediation", paused_at__isnull=True).first()
        if deadline is None:
            return
        self.run(case_id, "pause_deadline", self.assignee(case), {"deadline": deadline.pk, "reason": PAUSE_REASON}, at)
        state["paused_deadline"] = deadline.pk

    def do_resume_deadline(self, case_id: int, story: Story, at: datetime, state: dict[str, Any]) -> None:
        if "paused_deadline" not in state:
            return
        case = self.case(case_id)
        self.run(case_id, "resume_deadline", self.officer(case), {"deadline": state.pop("paused_deadline")}, at)


def final_stage(plan: Plan) -> str:
    stage = S.REPORTED
    for op in plan:
        stage = STAGE_AFTER.get(op, stage)
    return stage


class Command(BaseCommand):
    help = (
        "Load a demo county (青阳县: two townships, villages, departments, a user in every role) and "
        "disputes and petitions in every stage, some overdue. Needs an empty database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="password of every demo account")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the database already has organisation units"
        )
        parser.add_argument("--cases", type=int, default=300, help="number of cases (default 300)")
        parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")

    def handle(self, *args: Any, **options: Any) -> None:
        if OrgUnit.objects.exists():
            if options["if_empty"]:
                self.stdout.write("seed_demo: the database already has organisation units; nothing loaded.")
                return
            raise CommandError(
                "The database already has organisation units. seed_demo loads a demo county into an empty "
                "database only: use a fresh database (e.g. another TIAOCHU_VAR_DIR or DATABASE_URL, then "
                "migrate), or pass --if-empty to skip quietly."
            )
        if options["cases"] < 0:
            raise CommandError("--cases must not be negative.")
        if not options["password"]:
            raise CommandError("--password must not be empty.")
        taken = self.taken_usernames()
        if taken:
            raise CommandError(
                f"These demo usernames already exist: {', '.join(taken)}. Use a fresh database."
            )
        started = time.monotonic()
        # Calendar and rule profiles are cached per process; read the ones of this database.
        invalidate_all()
        seeder = Seeder(seed=options["seed"], password=options["password"], now=timezone.now())
        # One transaction: a failed seed leaves the database empty, and SQLite commits once
        # instead of once per transition (each transition nests as a savepoint).
        with transaction.atomic():
            seeder.build_county()
            seeder.build_cases(options["cases"])
            seeder.build_returns()
        self.report(seeder, options["password"], time.monotonic() - started)

    def taken_usernames(self) -> list[str]:
        names = ["admin", *(s.username for s in COUNTY_STAFF), *(d.liaison.username for d in COUNTY_DEPARTMENTS)]
        for spec in TOWNSHIPS:
            names += [s.username for s in spec.staff]
            names += [v.worker.username for v in spec.villages]
            names += [d.liaison.username for d in spec.departments]
        return sorted(get_user_model().objects.filter(username__in=names).values_list("username", flat=True))

    def report(self, seeder: Seeder, password: str, seconds: float) -> None:
        out = self.stdout.write
        out(f"演示账号 demo accounts（{len(seeder.accounts)} 个，密码均为 password: {password}）")
        header = ("用户名 username", "角色 role", "单位 unit", "姓名 name")
        rows = [header, *seeder.accounts]
        widths = [max(display_width(row[i]) for row in rows) + 2 for i in range(3)]
        for row in rows:
            out("  " + "".join(pad(cell, widths[i]) for i, cell in enumerate(row[:3])) + row[3])
        cases = Case.objects.all()
        kinds = Counter(cases.values_list("kind", flat=True))
        stages = Counter(cases.values_list("stage", flat=True))
        closures = Counter(cases.filter(stage=S.CLOSED).values_list("closure", flat=True))
        out("")
        out(f"案件 cases: {sum(kinds.values())}（矛盾纠纷 disputes {kinds[DISPUTE]}，信访事项 petitions "
            f"{kinds[PETITION]}），用时 {seconds:.1f} s")
        for stage in S:
            line = f"  {pad(STAGE_ZH[stage], 10)}{stage.value:<15}{stages[stage]:>5}"
            if stage == S.CLOSED:
                line += "  （" + "，".join(f"{CLOSURE_ZH[c]} {closures[c]}" for c in Case.Closure) + "）"
            out(line)
        out(
            f"  超期案件 overdue now: {cases.filter(counts.overdue()).count()}；"
            f"重大风险 {cases.filter(risk=Case.Risk.MAJOR).count()}，群体性 {cases.filter(is_group=True).count()}，"
            f"历史遗留 {cases.filter(is_legacy=True).count()}"
        )
        returns = ScreeningReturn.objects.all()
        overdue_returns = screening.overdue_returns(OrgUnit.objects.filter(parent__isnull=True), timezone.now())
        out(
            f"排查表 screening returns: {returns.count()}（零报告 nil {returns.filter(is_nil=True).count()}，"
            f"迟报 late {returns.filter(is_late=True).count()}），逾期未报 overdue {overdue_returns.count()}"
        )
